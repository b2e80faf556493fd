//! Shared helpers: a webauthn-rs relying party for `http://localhost:8080` and ceremony drivers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use keyward_testkit::{Forge, SoftKey};
use serde_json::Value;
use webauthn_rs::prelude::*;

/// The origin every test uses.
pub const ORIGIN: &str = "http://localhost:8080";

/// A relying party with rp id `localhost` and origin [`ORIGIN`].
pub fn webauthn() -> Webauthn {
    let origin = Url::parse(ORIGIN).unwrap();
    WebauthnBuilder::new("localhost", &origin)
        .unwrap()
        .rp_name("Keyward tests")
        .build()
        .unwrap()
}

/// Start a security-key registration and return the options JSON and server state.
pub fn start_registration(
    wa: &Webauthn,
    ca_list: Option<AttestationCaList>,
    exclude: Option<Vec<CredentialID>>,
) -> (Value, SecurityKeyRegistration) {
    let (ccr, state) = wa
        .start_securitykey_registration(Uuid::new_v4(), "claire", "Claire", exclude, ca_list, None)
        .unwrap();
    (serde_json::to_value(&ccr).unwrap(), state)
}

/// Run a registration against `key` with `forge`, returning webauthn-rs's verdict.
pub fn register(
    wa: &Webauthn,
    key: &mut SoftKey,
    ca_list: Option<AttestationCaList>,
    forge: &Forge,
) -> WebauthnResult<SecurityKey> {
    let (options, state) = start_registration(wa, ca_list, None);
    let response = key.register_with(&options, ORIGIN, forge);
    let reg: RegisterPublicKeyCredential = serde_json::from_value(response).unwrap();
    wa.finish_securitykey_registration(&reg, &state)
}

/// Run an authentication of `creds` against `key` with `forge`, returning webauthn-rs's verdict.
pub fn authenticate(
    wa: &Webauthn,
    key: &mut SoftKey,
    creds: &[SecurityKey],
    forge: &Forge,
) -> WebauthnResult<AuthenticationResult> {
    let (rcr, state) = wa.start_securitykey_authentication(creds).unwrap();
    let options = serde_json::to_value(&rcr).unwrap();
    let response = key.assert_with(&options, ORIGIN, forge);
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    wa.finish_securitykey_authentication(&cred, &state)
}

/// An honestly registered key and its server-side credential.
pub fn registered_key() -> (Webauthn, SoftKey, SecurityKey) {
    let wa = webauthn();
    let mut key = SoftKey::new();
    let sk = register(&wa, &mut key, None, &Forge::default()).unwrap();
    (wa, key, sk)
}
