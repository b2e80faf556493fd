//! Device cookies (OWASP "slow down online guessing attacks with device
//! cookies"): a browser that completed a sign-in to an account gets a cookie
//! naming the account and a random device id, MAC'd with a key every
//! instance shares. Failed attempts from that browser count against its own
//! throttling scope, so strangers who exhaust the account's scope for
//! unknown browsers do not lock its owner out ([`crate::flows::throttle`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// The cookie's name: `__Host-` prefixed over https (the browser then
/// refuses it from a sub-domain or without `Secure` and `Path=/`).
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-kw_device"
    } else {
        "kw_device"
    }
}

/// How long a browser stays known, seconds (a year).
const MAX_AGE: u64 = 365 * 24 * 3600;

/// Issues and checks device cookies.
pub struct Devices {
    key: [u8; 32],
    https: bool,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devices").finish_non_exhaustive()
    }
}

impl Devices {
    /// Devices with the shared MAC `key`.
    pub fn new(key: [u8; 32], https: bool) -> Self {
        Self { key, https }
    }

    fn mac(&self, username: &str, device: Uuid) -> Hmac<Sha256> {
        // A key of any length is accepted by HMAC.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"keyward-device-v1\0");
        mac.update(username.as_bytes());
        mac.update(b"\0");
        mac.update(device.as_bytes());
        mac
    }

    /// A fresh cookie value for `username`: `<device>.<mac>`, base64url.
    fn value(&self, username: &str, device: Uuid) -> String {
        let tag = self.mac(username, device).finalize().into_bytes();
        format!("{}.{}", device.simple(), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The device id of `cookie` if it is valid for `username`; the MAC is
    /// compared in constant time.
    pub fn verify(&self, cookie: &str, username: &str) -> Option<Uuid> {
        let (device, tag) = cookie.split_once('.')?;
        let device = Uuid::try_parse(device).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(username, device).verify_slice(&tag).ok()?;
        Some(device)
    }

    /// The `Set-Cookie` value remembering this browser for `username`: the
    /// device id it had for this account, or a new one.
    pub fn set_cookie(&self, username: &str, known: Option<Uuid>) -> String {
        let device = known.unwrap_or_else(Uuid::new_v4);
        let secure = if self.https { "; Secure" } else { "" };
        format!(
            "{}={}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Strict{secure}",
            cookie_name(self.https),
            self.value(username, device)
        )
    }

    /// The device cookie among a request's `Cookie` headers.
    pub fn from_headers(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let name = cookie_name(self.https);
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_valid_for_its_account_only_and_cannot_be_altered() {
        let devices = Devices::new([7; 32], false);
        let set = devices.set_cookie("alice", None);
        let value = set
            .strip_prefix("kw_device=")
            .and_then(|v| v.split(';').next())
            .unwrap_or_default();
        let device = devices.verify(value, "alice");
        assert!(device.is_some());
        assert_eq!(devices.verify(value, "bob"), None, "another account");
        let other_key = Devices::new([8; 32], false);
        assert_eq!(other_key.verify(value, "alice"), None, "another key");
        let mut forged = value.to_owned();
        forged.replace_range(0..1, if value.starts_with('0') { "1" } else { "0" });
        assert_eq!(devices.verify(&forged, "alice"), None, "another device id");
        assert_eq!(devices.verify("garbage", "alice"), None);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        let https = Devices::new([7; 32], true).set_cookie("alice", device);
        assert!(https.starts_with("__Host-kw_device=") && https.contains("; Secure"));
    }
}
