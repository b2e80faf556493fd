//! FIDO metadata and passkey handles, the two inputs Keyward reads before
//! anything vouches for them: arbitrary text as a metadata BLOB (JWS header,
//! `x5c` DER, chain to a fixed test root, signature) and as a passkey
//! ceremony handle, and arbitrary JSON as a verified BLOB's payload. Nothing
//! may panic; a garbage handle never opens.
#![no_main]

use std::sync::LazyLock;
use std::time::SystemTime;

use keyward_fido::metadata::{read_payload, verify_blob};
use keyward_server::passkey_token::PasskeyTokens;
use libfuzzer_sys::fuzz_target;

static ROOT: LazyLock<String> = LazyLock::new(|| keyward_fuzz::fixture("test_ca.pem"));
static TOKENS: LazyLock<PasskeyTokens> = LazyLock::new(|| PasskeyTokens::new([9; 32]));

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = verify_blob(&text, &[ROOT.as_bytes()], SystemTime::now());
    assert!(TOKENS.open(&text, 0).is_err(), "a handle nobody sealed opened");
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(blob) = read_payload(json)
    {
        for model in &blob.models {
            let _ = (model.latest_status(), model.compromise(), model.certification());
            let _ = model.root_ders();
        }
    }
});
