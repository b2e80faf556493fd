//! Registration responses against a fixed, real registration ceremony (made
//! by `seedgen` with the test kit's SoftKey): the first byte picks the
//! attestation policy (even: `any`, odd: `trusted` with the test CA), the rest
//! is the `credential` JSON the server hands to `finish_registration`. Must
//! never panic; anything accepted under `trusted` must be attested by the CA.
#![no_main]

use std::sync::LazyLock;

use keyward_fido::{Fido, RegistrationState};
use libfuzzer_sys::fuzz_target;

struct Setup {
    any: (Fido, RegistrationState),
    trusted: (Fido, RegistrationState),
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| Setup {
    any: (
        keyward_fuzz::fido_any(),
        keyward_fuzz::json_fixture("registration_any.json"),
    ),
    trusted: (
        keyward_fuzz::fido_trusted(&keyward_fuzz::fixture("test_ca.pem")),
        keyward_fuzz::json_fixture("registration_trusted.json"),
    ),
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let trusted = selector & 1 == 1;
    let (fido, state) = if trusted { &SETUP.trusted } else { &SETUP.any };
    // What the server does with the body's `credential` member.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let Ok(response) = keyward_server::flows::keys::registration_response(value) else {
        return;
    };
    if let Ok(key) = fido.finish_registration(&response, state) {
        assert_eq!(key.credential_id, response.raw_id.to_vec());
        if trusted {
            assert_ne!(key.attestation_format, "none");
            assert_eq!(
                key.aaguid,
                Some(uuid::Uuid::from_bytes(keyward_fuzz::TEST_AAGUID))
            );
        }
        let stored = keyward_fido::credential::key_to_json(&key.key).expect("stores");
        keyward_fido::credential::key_from_json(&stored).expect("reloads");
    }
});
