//! Approval tokens (EdDSA JWTs) against a fixed JWKS, through both verifiers:
//! the client crate's (what an exchange runs before paying) and the server's
//! own (`keyward approval verify`). A token verifies only if it is
//! byte-identical to one the fixed key signed: no mutation of a valid token
//! (header, claims, signature, encoding) may still verify.
#![no_main]

use std::sync::LazyLock;

use keyward_client::offline::{JwkSet, verify_with_set};
use libfuzzer_sys::fuzz_target;

struct Setup {
    jwks: serde_json::Value,
    set: JwkSet,
    valid: Vec<String>,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let jwks = keyward_fuzz::approval_jwks();
    let set = serde_json::from_value(jwks.clone()).expect("JWKS parses");
    let valid = keyward_fuzz::approval_tokens();
    for token in &valid {
        verify_with_set(token, &set, keyward_fuzz::ISSUER, 0).expect("seed token verifies");
    }
    Setup { jwks, set, valid }
});

/// "Now" for the server's verifier: between the seed tokens' iat and exp.
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let s = &*SETUP;
    let known = s.valid.iter().any(|v| v == token);
    if verify_with_set(token, &s.set, keyward_fuzz::ISSUER, 0).is_ok() {
        assert!(known, "client verified a token nobody signed: {token:?}");
    }
    let server = keyward_access::approval::verify(
        token,
        &s.jwks,
        keyward_fuzz::ISSUER,
        keyward_client::AUDIENCE,
        NOW,
    );
    if server.is_ok() {
        assert!(known, "server verified a token nobody signed: {token:?}");
    }
});
