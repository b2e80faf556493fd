//! Synthetic accounts for bulk set-up: account `i` of seed `s` is
//! `{prefix}{i:08}` with `keys` security keys: credential ids are SHA-256
//! derivations of `(s, i, k)`, private keys `base(s) + 16 i + k + 1`. [`Synthetic::line`]
//! writes one `keyward import` JSON line (username, PHC password hash shared
//! by every account, credentials in Keyward's stored format), and
//! [`soft_key`] rebuilds the software key that can sign for that account.
//!
//! Nothing secret is derived here: these are load-test accounts on loopback.

use std::io::Write;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_fido::{AttestationPolicy, Fido, RelyingParty, credential::key_to_json};
use keyward_testkit::{Forge, SoftKey};
use p256::ecdsa::SigningKey;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePrivateKey as _;
use p256::{AffinePoint, NonZeroScalar, ProjectivePoint, Scalar, U256};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// Domain separation for every derivation.
const TAG: &[u8] = b"keyward-loadgen/bulk/v1";

fn derive(what: &str, seed: &str, index: u64, key: u32, attempt: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [TAG, what.as_bytes(), seed.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(index.to_be_bytes());
    h.update(key.to_be_bytes());
    h.update(attempt.to_be_bytes());
    h.finalize().into()
}

/// The username of account `index`.
pub fn username(prefix: &str, index: u64) -> String {
    format!("{prefix}{index:08}")
}

/// The credential id of key `key` of account `index` (32 bytes).
pub fn credential_id(seed: &str, index: u64, key: u32) -> Vec<u8> {
    derive("credential-id", seed, index, key, 0).to_vec()
}

/// Private keys are `base + index × STRIDE + key + 1` (`base` derived from
/// the seed), so consecutive public keys differ by a point addition: writing
/// a million accounts costs additions, not a million scalar multiplications.
const STRIDE: u64 = 16;

fn base_scalar(seed: &str) -> Scalar {
    let bytes = derive("private-key", seed, 0, 0, 0);
    <Scalar as Reduce<U256>>::reduce_bytes(&bytes.into())
}

fn offset(index: u64, key: u32) -> Scalar {
    Scalar::from(index) * Scalar::from(STRIDE) + Scalar::from(u64::from(key) + 1)
}

/// The P-256 private key of key `key` (< 16) of account `index`.
pub fn signing_key(seed: &str, index: u64, key: u32) -> anyhow::Result<SigningKey> {
    if u64::from(key) >= STRIDE {
        bail!("at most {STRIDE} keys per account");
    }
    let d =
        Option::<NonZeroScalar>::from(NonZeroScalar::new(base_scalar(seed) + offset(index, key)))
            .context("derived private key is zero")?;
    Ok(SigningKey::from(d))
}

/// The software key holding all `keys` credentials of account `index`, with
/// its counters set to `counter` (the next assertion reports `counter + 1`;
/// use a value above any earlier run's, e.g. [`fresh_counter`]).
pub fn soft_key(
    seed: &str,
    index: u64,
    keys: u32,
    rp_id: &str,
    counter: u32,
) -> anyhow::Result<SoftKey> {
    let mut credentials = Vec::new();
    for k in 0..keys {
        let der = signing_key(seed, index, k)?
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("PKCS#8: {e}"))?;
        credentials.push(json!({
            "id": URL_SAFE_NO_PAD.encode(credential_id(seed, index, k)),
            "private_key": URL_SAFE_NO_PAD.encode(der.as_bytes()),
            "rp_id": rp_id,
            "user_handle": null,
            "counter": counter,
        }));
    }
    let state = json!({
        "version": 1,
        "aaguid": Uuid::nil(),
        "attestation": "none",
        "credentials": credentials,
    });
    SoftKey::from_json(&state).context("derived soft key")
}

/// A counter start that grows with wall time (4 ms units since 2026-11-01,
/// so a later run's keys start above an earlier run's final counters as long
/// as no account made more than 250 assertions a second; the bench scripts
/// also give each run its own accounts). Saturates after about 540 days:
/// benchmarks use a fresh database.
pub fn fresh_counter() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    u32::try_from(now.saturating_sub(1_793_491_200_000) / 4).unwrap_or(u32::MAX - 1_000_000)
}

/// Writes import lines for accounts.
pub struct Synthetic {
    seed: String,
    prefix: String,
    keys: u32,
    password_hash: String,
    /// webauthn-rs's stored `SecurityKey` JSON with `{ID}`, `{X}`, `{Y}` where
    /// the credential id and the public key's coordinates go.
    template: String,
}

impl Synthetic {
    /// Learns the stored credential format from one real registration
    /// (webauthn-rs, in process) for `rp`, so the lines carry exactly what an
    /// enrolment through the API would store.
    pub fn new(
        rp: &RelyingParty,
        seed: &str,
        prefix: &str,
        keys: u32,
        password_hash: String,
    ) -> anyhow::Result<Self> {
        let fido = Fido::new(rp, AttestationPolicy::Any)?;
        let (options, state) =
            fido.start_registration(Uuid::new_v4(), "template", vec![], false)?;
        let mut key = SoftKey::new();
        let options = serde_json::to_value(&options)?;
        let origin = rp.origin.as_str().trim_end_matches('/');
        let response = key.try_register_with(&options, origin, &Forge::default())?;
        let enrolled = fido.finish_registration(&serde_json::from_value(response)?, &state)?;
        let stored = key_to_json(&enrolled.key)?;
        let saved = key.to_json()?;
        let der = saved["credentials"][0]["private_key"]
            .as_str()
            .and_then(|k| URL_SAFE_NO_PAD.decode(k).ok())
            .context("soft key state")?;
        let signer = <SigningKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_der(&der)
            .map_err(|e| anyhow::anyhow!("PKCS#8: {e}"))?;
        let (x, y) = coordinates(&signer)?;
        let mut template = stored;
        for (value, hole) in [
            (URL_SAFE_NO_PAD.encode(&enrolled.credential_id), "{ID}"),
            (x, "{X}"),
            (y, "{Y}"),
        ] {
            let quoted = format!("\"{value}\"");
            if template.matches(&quoted).count() != 1 {
                bail!("webauthn-rs's stored key format changed: cannot place {hole} in {template}");
            }
            template = template.replace(&quoted, &format!("\"{hole}\""));
        }
        Ok(Self {
            seed: seed.to_owned(),
            prefix: prefix.to_owned(),
            keys,
            password_hash,
            template,
        })
    }

    /// The import line (no newline) of account `index`.
    pub fn line(&self, index: u64) -> anyhow::Result<String> {
        let base = ProjectivePoint::GENERATOR * (base_scalar(&self.seed) + offset(index, 0));
        self.line_from(index, base)
    }

    /// The line of account `index` whose first public key is `first`.
    fn line_from(&self, index: u64, first: ProjectivePoint) -> anyhow::Result<String> {
        let mut credentials = Vec::new();
        let mut point = first;
        for k in 0..self.keys {
            let id = URL_SAFE_NO_PAD.encode(credential_id(&self.seed, index, k));
            let (x, y) = affine_coordinates(&point.to_affine())?;
            point += ProjectivePoint::GENERATOR;
            let key = self
                .template
                .replace("{ID}", &id)
                .replace("{X}", &x)
                .replace("{Y}", &y);
            credentials.push(format!(
                r#"{{"id":"{id}","label":"bulk key {k}","key":{key}}}"#
            ));
        }
        let line = json!({
            "username": username(&self.prefix, index),
            "password_hash": self.password_hash,
            "credentials": [],
        })
        .to_string();
        // Splice the credentials (already JSON) in without re-parsing them.
        Ok(line.replace(
            r#""credentials":[]"#,
            &format!(r#""credentials":[{}]"#, credentials.join(",")),
        ))
    }

    /// Writes accounts `first..first + count` as JSON lines, deriving keys
    /// on `threads` threads.
    pub fn write(
        &self,
        out: &mut impl Write,
        first: u64,
        count: u64,
        threads: usize,
    ) -> anyhow::Result<()> {
        const CHUNK: u64 = 4096;
        let threads = threads.max(1) as u64;
        let mut start = first;
        let end = first + count;
        while start < end {
            let stop = (start + CHUNK * threads).min(end);
            let parts = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let lo = start + (stop - start) * t / threads;
                        let hi = start + (stop - start) * (t + 1) / threads;
                        s.spawn(move || -> anyhow::Result<String> {
                            let mut text = String::new();
                            let step = ProjectivePoint::GENERATOR * Scalar::from(STRIDE);
                            let mut first = ProjectivePoint::GENERATOR
                                * (base_scalar(&self.seed) + offset(lo, 0));
                            for i in lo..hi {
                                text.push_str(&self.line_from(i, first)?);
                                text.push('\n');
                                first += step;
                            }
                            Ok(text)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .map_err(|_| anyhow::anyhow!("derivation thread panicked"))?
                    })
                    .collect::<anyhow::Result<Vec<String>>>()
            })?;
            for part in parts {
                out.write_all(part.as_bytes())?;
            }
            start = stop;
        }
        out.flush()?;
        Ok(())
    }
}

/// The public key's affine coordinates, base64url.
fn coordinates(key: &SigningKey) -> anyhow::Result<(String, String)> {
    affine_coordinates(key.verifying_key().as_affine())
}

fn affine_coordinates(point: &AffinePoint) -> anyhow::Result<(String, String)> {
    let point = point.to_encoded_point(false);
    match (point.x(), point.y()) {
        (Some(x), Some(y)) => Ok((URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))),
        _ => bail!("public key is the identity"),
    }
}

/// Parses a line back, for checks.
pub fn parse_line(line: &str) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(line)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty {
            id: "localhost".into(),
            origin: url::Url::parse("http://localhost:8080").unwrap(),
            name: "t".into(),
        }
    }

    #[test]
    fn lines_carry_stored_keys_the_derived_soft_key_can_sign_for() {
        let synth = Synthetic::new(&rp(), "s1", "bulk", 2, "$argon2id$x".into()).unwrap();
        let line = parse_line(&synth.line(7).unwrap()).unwrap();
        assert_eq!(line["username"], "bulk00000007");
        let creds = line["credentials"].as_array().unwrap();
        assert_eq!(creds.len(), 2);
        let fido = Fido::new(&rp(), AttestationPolicy::Any).unwrap();
        let keys: Vec<_> = creds
            .iter()
            .map(|c| keyward_fido::credential::key_from_json(&c["key"].to_string()).unwrap())
            .collect();
        for (c, k) in creds.iter().zip(&keys) {
            assert_eq!(c["id"], URL_SAFE_NO_PAD.encode(k.cred_id()));
        }
        let mut soft = soft_key("s1", 7, 2, "localhost", 5).unwrap();
        let (options, state) = fido
            .start_authentication(&keys, keyward_fido::UserVerification::Required)
            .unwrap();
        let options = serde_json::to_value(&options).unwrap();
        let response = soft.assert(&options, "http://localhost:8080");
        let outcome = fido
            .finish_authentication(
                &serde_json::from_value(response).unwrap(),
                &state,
                keyward_fido::UserVerification::Required,
                Uuid::new_v4(), // derived keys send no userHandle
            )
            .unwrap();
        assert_eq!(outcome.counter, 6);
        // The incremental writer gives the same lines as one-by-one.
        let mut out = Vec::new();
        synth.write(&mut out, 5, 4, 2).unwrap();
        let expected: String = (5..9).map(|i| synth.line(i).unwrap() + "\n").collect();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        // Another seed's key does not sign for this account.
        let mut other = soft_key("s2", 7, 2, "localhost", 5).unwrap();
        let (options, _) = fido
            .start_authentication(&keys, keyward_fido::UserVerification::Required)
            .unwrap();
        let options = serde_json::to_value(&options).unwrap();
        assert!(
            other
                .try_assert_with(&options, "http://localhost:8080", &Forge::default())
                .is_err()
        );
    }
}
