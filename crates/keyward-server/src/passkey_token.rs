//! The handle of a passkey sign-in ceremony, kept by the browser instead of
//! the database: the webauthn-rs state and its expiry, MAC'd with a key
//! every instance shares.
//!
//! Why not a `ceremonies` row like the other ceremonies: the options are
//! asked for before anyone is known (no session, no username), so every
//! stranger could make the database store a row. With the state in the
//! handle, asking costs nothing; the handle is spent (its digest stored,
//! unique) only when an assertion comes back, before that assertion is
//! verified, so each handle is answered at most once and only until it
//! expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Millis;

/// Seals and opens passkey ceremony handles.
pub struct PasskeyTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for PasskeyTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyTokens").finish_non_exhaustive()
    }
}

/// What a handle carries.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The webauthn-rs state, JSON.
    state: String,
    /// Expiry, Unix milliseconds.
    exp: Millis,
}

/// An opened handle.
#[derive(Debug)]
pub struct Opened {
    /// The webauthn-rs state, JSON.
    pub state: String,
    /// When it expires.
    pub expires_at: Millis,
    /// SHA-256 of the handle: what is stored once it is spent.
    pub digest: [u8; 32],
}

/// Why a handle was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not one of ours (malformed or altered).
    Unknown,
    /// Ours, but past its expiry.
    Expired,
}

impl PasskeyTokens {
    /// Handles MAC'd with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"keyward-passkey-ceremony-v1\0");
        mac.update(body.as_bytes());
        mac
    }

    /// A handle for `state` (JSON) that expires at `expires_at`.
    pub fn seal(&self, state: String, expires_at: Millis) -> String {
        let sealed = Sealed {
            state,
            exp: expires_at,
        };
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&sealed).unwrap_or_default());
        let tag = self.mac(&body).finalize().into_bytes();
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Opens `token` at `now`; the MAC is compared in constant time.
    pub fn open(&self, token: &str, now: Millis) -> Result<Opened, Refused> {
        let (body, tag) = token.split_once('.').ok_or(Refused::Unknown)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Refused::Unknown)?;
        self.mac(body)
            .verify_slice(&tag)
            .map_err(|_| Refused::Unknown)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| Refused::Unknown)?;
        let sealed: Sealed = serde_json::from_slice(&json).map_err(|_| Refused::Unknown)?;
        if sealed.exp <= now {
            return Err(Refused::Expired);
        }
        Ok(Opened {
            state: sealed.state,
            expires_at: sealed.exp,
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_opens_once_sealed_and_only_until_it_expires() {
        let tokens = PasskeyTokens::new([3; 32]);
        let token = tokens.seal("{\"s\":1}".into(), 2_000);
        let opened = tokens.open(&token, 1_000).unwrap();
        assert_eq!(opened.state, "{\"s\":1}");
        assert_eq!(opened.expires_at, 2_000);
        assert_eq!(tokens.open(&token, 2_000).unwrap_err(), Refused::Expired);
        // Another key, an altered body, garbage: not ours.
        let other = PasskeyTokens::new([4; 32]);
        assert_eq!(other.open(&token, 1_000).unwrap_err(), Refused::Unknown);
        let (body, tag) = token.split_once('.').unwrap();
        let later = URL_SAFE_NO_PAD.encode(br#"{"state":"{\"s\":1}","exp":9999999}"#);
        assert_ne!(later, body);
        assert_eq!(
            tokens.open(&format!("{later}.{tag}"), 1_000).unwrap_err(),
            Refused::Unknown
        );
        assert_eq!(tokens.open("garbage", 1_000).unwrap_err(), Refused::Unknown);
    }
}
