//! Shared setup for the integration tests: a relying party on localhost and a
//! SoftKey enrolled through it. Test support only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use keyward_fido::wire::{PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey};
use keyward_fido::{AttestationPolicy, AuthenticationState, Fido, RelyingParty, UserVerification};
use keyward_testkit::{Forge, SoftKey};
use serde_json::Value;

pub const RP_ID: &str = "localhost";
pub const ORIGIN: &str = "http://localhost:8080";

/// A relying party with one enrolled SoftKey.
pub struct Enrolled {
    pub fido: Fido,
    pub softkey: SoftKey,
    pub key: SecurityKey,
    /// The account id the key was enrolled for (its userHandle).
    pub user_id: uuid::Uuid,
}

pub fn enrol() -> Enrolled {
    let rp = RelyingParty {
        id: RP_ID.into(),
        origin: url::Url::parse(ORIGIN).unwrap(),
        name: "Keyward".into(),
    };
    let fido = Fido::new(&rp, AttestationPolicy::Any).unwrap();
    let user_id = uuid::Uuid::new_v4();
    let (options, state) = fido
        .start_registration(user_id, "alice", vec![], false)
        .unwrap();
    let mut softkey = SoftKey::new();
    let response = softkey.register(&serde_json::to_value(&options).unwrap(), ORIGIN);
    let response: RegisterPublicKeyCredential = serde_json::from_value(response).unwrap();
    let key = fido.finish_registration(&response, &state).unwrap().key;
    Enrolled {
        fido,
        softkey,
        key,
        user_id,
    }
}

impl Enrolled {
    /// Starts an authentication bound to `challenge`.
    pub fn start(&self, challenge: [u8; 32]) -> (Value, AuthenticationState) {
        let (options, state) = self
            .fido
            .start_bound_authentication(
                std::slice::from_ref(&self.key),
                UserVerification::Required,
                challenge,
            )
            .unwrap();
        (serde_json::to_value(&options).unwrap(), state)
    }

    /// The SoftKey's answer to `options` (raw JSON and parsed).
    pub fn answer(&mut self, options: &Value, forge: &Forge) -> (Value, PublicKeyCredential) {
        let json = self.softkey.assert_with(options, ORIGIN, forge);
        let parsed = serde_json::from_value(json.clone()).unwrap();
        (json, parsed)
    }
}
