//! Assertion responses against a fixed, real authentication ceremony for a
//! key enrolled by `seedgen`: the first byte picks the user-verification
//! requirement, the rest is the `credential` JSON the server hands to
//! `finish_authentication`. Must never panic; an accepted assertion is by the
//! enrolled credential, and verified when UV is required.
#![no_main]

use std::sync::LazyLock;

use keyward_fido::{AuthenticationState, Fido, UserVerification};
use libfuzzer_sys::fuzz_target;

struct Setup {
    fido: Fido,
    state: AuthenticationState,
    credential_id: Vec<u8>,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| Setup {
    fido: keyward_fuzz::fido_any(),
    state: keyward_fuzz::json_fixture("authentication.json"),
    credential_id: keyward_fuzz::json_fixture("credential_id.json"),
});

const UV: [UserVerification; 3] = [
    UserVerification::Required,
    UserVerification::Preferred,
    UserVerification::Discouraged,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let uv = UV[usize::from(selector) % UV.len()];
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let Ok(response) = keyward_server::flows::assertion::assertion_response(value) else {
        return;
    };
    if let Ok(outcome) = SETUP
        .fido
        .finish_authentication(&response, &SETUP.state, uv, keyward_fuzz::FUZZ_USER)
    {
        assert_eq!(outcome.credential_id, SETUP.credential_id);
        if uv == UserVerification::Required {
            assert!(outcome.user_verified);
        }
    }
});
