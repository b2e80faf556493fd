//! The key-encryption key (KEK) that seals approval-signing keys in the
//! database, so that reading the database or a backup yields no private key.
//!
//! It comes from outside the database: `signing.kek` (base64 of 32 bytes,
//! typically the environment variable `KEYWARD_SIGNING__KEK`), or the file
//! `signing.kek_file`, or — for a single instance in development — a file
//! `signing.kek` created in `data_dir` on first start. Every instance on one
//! database must be given the same KEK.
//!
//! Sealing is AES-256-GCM with a random 96-bit nonce and the key's `kid` as
//! associated data, so a sealed key cannot be moved to another row; opening
//! anything not sealed under this KEK fails.

use std::path::Path;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;

use crate::config::Config;

/// Format tag of a sealed key: version 1, AES-256-GCM.
const SEALED_V1: u8 = 1;
/// Nonce length (96 bits).
const NONCE_LEN: usize = 12;

/// The key-encryption key. Never logged.
#[derive(Clone)]
pub struct Kek(Aes256Gcm);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

/// A sealed key did not open: not sealed under this KEK, for another `kid`,
/// or altered.
#[derive(Debug, thiserror::Error)]
#[error("sealed key does not open under this KEK")]
pub struct NotOurs;

impl Kek {
    /// A KEK from its 32 bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(key.into()))
    }

    /// The KEK the configuration names (see the module docs).
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let s = &config.signing;
        if let Some(b64) = &s.kek {
            return Self::from_base64(b64.expose_secret(), "signing.kek");
        }
        if let Some(path) = &s.kek_file {
            return Self::from_file(path);
        }
        let path = config.data_dir.join("signing.kek");
        if !path.exists() {
            std::fs::create_dir_all(&config.data_dir)?;
            let fresh: [u8; 32] = rand::random();
            write_private(&path, STANDARD.encode(fresh).as_bytes())?;
            tracing::warn!(
                path = %path.display(),
                "created a key-encryption key for signing keys beside the database; give every \
                 instance the same one through signing.kek_file or KEYWARD_SIGNING__KEK"
            );
        }
        Self::from_file(&path)
    }

    fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("signing KEK file {}: {e}", path.display()))?;
        Self::from_base64(text.trim(), &path.display().to_string())
    }

    fn from_base64(b64: &str, what: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| anyhow::anyhow!("{what}: expected base64 of 32 random bytes"))?;
        Ok(Self::new(&bytes))
    }

    /// Seals `secret` for key `kid`: version ‖ nonce ‖ ciphertext+tag.
    pub fn seal(&self, kid: &str, secret: &[u8]) -> anyhow::Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .0
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: secret,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing a signing key failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Kek::seal`] sealed for `kid`.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<secrecy::SecretBox<Vec<u8>>, NotOurs> {
        let (&version, rest) = sealed.split_first().ok_or(NotOurs)?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN {
            return Err(NotOurs);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| NotOurs)?;
        let plain = self
            .0
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: body,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| NotOurs)?;
        Ok(secrecy::SecretBox::new(Box::new(plain)))
    }
}

/// Writes `bytes` to a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_under_its_kek_and_kid() {
        let kek = Kek::new(&[1; 32]);
        let sealed = kek.seal("kid-a", b"secret key").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"secret key"));
        assert_eq!(
            kek.open("kid-a", &sealed).unwrap().expose_secret(),
            b"secret key"
        );
        assert!(kek.open("kid-b", &sealed).is_err(), "moved to another row");
        assert!(
            Kek::new(&[2; 32]).open("kid-a", &sealed).is_err(),
            "another KEK"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(kek.open("kid-a", &altered).is_err());
        assert!(kek.open("kid-a", b"").is_err());
        // Two seals of the same key differ (fresh nonce).
        assert_ne!(kek.seal("kid-a", b"secret key").unwrap(), sealed);
    }

    #[test]
    fn a_kek_is_32_bytes_of_base64() {
        assert!(Kek::from_base64(&STANDARD.encode([7u8; 32]), "t").is_ok());
        assert!(Kek::from_base64(&STANDARD.encode([7u8; 16]), "t").is_err());
        assert!(Kek::from_base64("not base64!", "t").is_err());
    }
}
