//! The software security key: creates credentials and answers assertions like a USB FIDO2 key.

use ciborium::Value as Cbor;
use p256::ecdsa::SigningKey;
use rand::RngCore as _;
use rand::rngs::OsRng;
use serde_json::{Value, json};

use crate::encoding::{
    self, AttestedCredential, authenticator_data, b64url, cbor, client_data_json,
    cose_es256_public_key, int, sign_ceremony, text,
};
use crate::{Attestation, Forge, TestkitError, options};

mod persist;

/// One credential held by the key.
#[derive(Clone)]
struct Credential {
    id: Vec<u8>,
    key: SigningKey,
    rp_id: String,
    user_handle: Option<Vec<u8>>,
    counter: u32,
}

/// One security key: holds the credentials it created (id → P-256 key, rp id, user handle,
/// counter). Cloning it clones the credentials too, which models a cloned authenticator.
#[derive(Clone)]
pub struct SoftKey {
    aaguid: [u8; 16],
    attestation: Attestation,
    credentials: Vec<Credential>,
    /// Sets the backup-eligible and backed-up flags, as a synced passkey does.
    synced: bool,
}

impl std::fmt::Debug for SoftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftKey")
            .field("aaguid", &self.aaguid)
            .field("attestation", &self.attestation)
            .field("credentials", &self.credentials.len())
            .finish()
    }
}

impl Default for SoftKey {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftKey {
    /// The flags byte of a response: the forge's, plus BE and BS if synced.
    fn flags(&self, forge: &Forge) -> u8 {
        if self.synced {
            forge.flags() | crate::encoding::FLAG_BE | crate::encoding::FLAG_BS
        } else {
            forge.flags()
        }
    }
}

/// Panic with the ceremony name: the public non-`try` entry points are test support.
#[allow(clippy::panic)] // test-support API: failing loudly is the right behaviour
fn or_panic<T>(what: &str, result: Result<T, TestkitError>) -> T {
    result.unwrap_or_else(|e| panic!("SoftKey::{what}: {e}"))
}

impl SoftKey {
    /// A key with `none` attestation and a zero AAGUID.
    pub fn new() -> Self {
        Self {
            aaguid: [0; 16],
            attestation: Attestation::None,
            credentials: Vec::new(),
            synced: false,
        }
    }

    /// Choose the attestation this key produces. `PackedX5c` also sets the key's AAGUID to
    /// the certificate's (call [`SoftKey::with_aaguid`] afterwards to make them disagree).
    pub fn with_attestation(mut self, att: Attestation) -> Self {
        if let Attestation::PackedX5c(cert) = &att {
            self.aaguid = cert.aaguid();
        }
        self.attestation = att;
        self
    }

    /// Behave like a synced passkey: every response sets the backup-eligible
    /// (BE) and backed-up (BS) flags, so the credential is not device-bound.
    pub fn synced(mut self) -> Self {
        self.synced = true;
        self
    }

    /// Set the AAGUID written into attested credential data.
    pub fn with_aaguid(mut self, aaguid: [u8; 16]) -> Self {
        self.aaguid = aaguid;
        self
    }

    /// Make a credential, honestly. See [`SoftKey::register_with`].
    ///
    /// # Panics
    /// Same as [`SoftKey::register_with`].
    pub fn register(&mut self, options: &Value, origin: &str) -> Value {
        self.register_with(options, origin, &Forge::default())
    }

    /// Make a credential: `options` is webauthn-rs's `CreationChallengeResponse` JSON
    /// (`{"publicKey": {...}}`) or its inner `publicKey` object; `origin` like
    /// `"http://localhost:8080"`. Returns the `RegistrationResponse` JSON that the browser's
    /// `credential.toJSON()` gives (base64url without padding), which deserialises as
    /// webauthn-rs's `RegisterPublicKeyCredential`.
    ///
    /// # Panics
    /// If the options are malformed, do not allow ES256, or (honest case) list a credential
    /// of this key in `excludeCredentials`. Use [`SoftKey::try_register_with`] to get an error.
    pub fn register_with(&mut self, options: &Value, origin: &str, forge: &Forge) -> Value {
        or_panic("register", self.try_register_with(options, origin, forge))
    }

    /// Fallible [`SoftKey::register_with`].
    pub fn try_register_with(
        &mut self,
        options: &Value,
        origin: &str,
        forge: &Forge,
    ) -> Result<Value, TestkitError> {
        let opts = options::creation(options, origin)?;
        let credential_id = match &forge.credential_id {
            Some(id) => id.clone(),
            None => {
                if opts
                    .exclude
                    .iter()
                    .any(|id| self.find(id).is_some_and(|c| c.rp_id == opts.rp_id))
                {
                    return Err(TestkitError::Excluded);
                }
                let mut id = vec![0; 32];
                OsRng.fill_bytes(&mut id);
                id
            }
        };
        let key = SigningKey::random(&mut OsRng);
        let counter = forge.counter.unwrap_or(0);

        let cose_key = cose_es256_public_key(&key)?;
        let acd = AttestedCredential {
            aaguid: self.aaguid,
            credential_id: &credential_id,
            cose_key: &cose_key,
        };
        let rp_id = forge.rp_id.as_deref().unwrap_or(&opts.rp_id);
        let mut auth_data = authenticator_data(rp_id, self.flags(forge), counter, Some(&acd))?;
        let mut client_data = client_data_json(
            forge
                .client_data_type
                .as_deref()
                .unwrap_or("webauthn.create"),
            forge.challenge.as_deref().unwrap_or(&opts.challenge),
            forge.origin.as_deref().unwrap_or(origin),
            forge.cross_origin,
        );

        let signed = |signer: &SigningKey| {
            let mut sig = sign_ceremony(signer, &auth_data, &client_data);
            if forge.tamper_signature {
                encoding::tamper_signature(&mut sig);
            }
            (text("sig"), Cbor::Bytes(sig))
        };
        let (fmt, att_stmt) = match &self.attestation {
            Attestation::None => ("none", Cbor::Map(Vec::new())),
            Attestation::PackedSelf => (
                "packed",
                Cbor::Map(vec![(text("alg"), int(-7)), signed(&key)]),
            ),
            Attestation::PackedX5c(cert) => (
                "packed",
                Cbor::Map(vec![
                    (text("alg"), int(-7)),
                    signed(cert.signing_key()),
                    (
                        text("x5c"),
                        Cbor::Array(vec![Cbor::Bytes(cert.leaf_der().to_vec())]),
                    ),
                ]),
            ),
        };
        if forge.tamper_authenticator_data {
            encoding::tamper_authenticator_data(&mut auth_data);
        }
        if forge.tamper_client_data {
            encoding::tamper_client_data(&mut client_data);
        }
        let attestation_object = cbor(&Cbor::Map(vec![
            (text("fmt"), text(fmt)),
            (text("attStmt"), att_stmt),
            (text("authData"), Cbor::Bytes(auth_data)),
        ]))?;

        if self.find(&credential_id).is_none() {
            self.credentials.push(Credential {
                id: credential_id.clone(),
                key,
                rp_id: opts.rp_id,
                user_handle: opts.user_id,
                counter,
            });
        }

        let id = b64url(&credential_id);
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&client_data),
                "attestationObject": b64url(&attestation_object),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        }))
    }

    /// Answer an assertion request, honestly. See [`SoftKey::assert_with`].
    ///
    /// # Panics
    /// Same as [`SoftKey::assert_with`].
    pub fn assert(&mut self, options: &Value, origin: &str) -> Value {
        self.assert_with(options, origin, &Forge::default())
    }

    /// Answer an assertion request (webauthn-rs `RequestChallengeResponse` JSON or its inner
    /// `publicKey`). Picks the first credential of this key listed in `allowCredentials` (or,
    /// if the list is empty, any credential for the rp id) and increments its counter.
    /// Returns the `AuthenticationResponse` JSON (`id`, `rawId`, `type`, `response` with
    /// `clientDataJSON`, `authenticatorData`, `signature`, `userHandle`, and
    /// `clientExtensionResults`), which deserialises as webauthn-rs's `PublicKeyCredential`.
    ///
    /// # Panics
    /// If the options are malformed or (honest case) no credential of this key may answer.
    /// Use [`SoftKey::try_assert_with`] to get an error.
    pub fn assert_with(&mut self, options: &Value, origin: &str, forge: &Forge) -> Value {
        or_panic("assert", self.try_assert_with(options, origin, forge))
    }

    /// Fallible [`SoftKey::assert_with`].
    pub fn try_assert_with(
        &mut self,
        options: &Value,
        origin: &str,
        forge: &Forge,
    ) -> Result<Value, TestkitError> {
        let opts = options::request(options, origin)?;
        let held = |id: &[u8]| self.credentials.iter().position(|c| c.id == id);
        let chosen = if opts.allow.is_empty() {
            self.credentials.iter().position(|c| c.rp_id == opts.rp_id)
        } else {
            opts.allow.iter().filter_map(|id| held(id)).find(|&i| {
                self.credentials
                    .get(i)
                    .is_some_and(|c| c.rp_id == opts.rp_id)
            })
        };
        let index = match &forge.credential_id {
            Some(claimed) => held(claimed).or(chosen),
            None => Some(chosen.ok_or(TestkitError::NoCredential)?),
        };

        let (key, user_handle, counter) = match index.and_then(|i| self.credentials.get_mut(i)) {
            Some(cred) => {
                let counter = match forge.counter {
                    Some(forged) => forged,
                    None => {
                        cred.counter = cred.counter.wrapping_add(1);
                        cred.counter
                    }
                };
                (cred.key.clone(), cred.user_handle.clone(), counter)
            }
            // Only reachable with a forged credential id this key does not hold.
            None => (
                SigningKey::random(&mut OsRng),
                None,
                forge.counter.unwrap_or(1),
            ),
        };
        let credential_id = match (
            &forge.credential_id,
            index.and_then(|i| self.credentials.get(i)),
        ) {
            (Some(claimed), _) => claimed.clone(),
            (None, Some(cred)) => cred.id.clone(),
            (None, None) => return Err(TestkitError::NoCredential),
        };

        let rp_id = forge.rp_id.as_deref().unwrap_or(&opts.rp_id);
        let mut auth_data = authenticator_data(rp_id, self.flags(forge), counter, None)?;
        let mut client_data = client_data_json(
            forge.client_data_type.as_deref().unwrap_or("webauthn.get"),
            forge.challenge.as_deref().unwrap_or(&opts.challenge),
            forge.origin.as_deref().unwrap_or(origin),
            forge.cross_origin,
        );
        let mut signature = sign_ceremony(&key, &auth_data, &client_data);
        if forge.tamper_signature {
            encoding::tamper_signature(&mut signature);
        }
        if forge.tamper_authenticator_data {
            encoding::tamper_authenticator_data(&mut auth_data);
        }
        if forge.tamper_client_data {
            encoding::tamper_client_data(&mut client_data);
        }

        let id = b64url(&credential_id);
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&client_data),
                "authenticatorData": b64url(&auth_data),
                "signature": b64url(&signature),
                "userHandle": user_handle.as_deref().map(b64url),
            },
            "clientExtensionResults": {},
        }))
    }

    /// Credential ids this key holds (raw bytes), in creation order.
    pub fn credential_ids(&self) -> Vec<Vec<u8>> {
        self.credentials.iter().map(|c| c.id.clone()).collect()
    }

    /// A credential's current signature counter, if this key holds it.
    pub fn counter(&self, cred_id: &[u8]) -> Option<u32> {
        self.find(cred_id).map(|c| c.counter)
    }

    /// Set a credential's counter (the next honest assertion reports `counter + 1`).
    ///
    /// # Panics
    /// If this key holds no credential with that id.
    pub fn set_counter(&mut self, cred_id: &[u8], counter: u32) {
        let found = self.credentials.iter_mut().find(|c| c.id == cred_id);
        match found {
            Some(cred) => cred.counter = counter,
            None => or_panic("set_counter", Err::<(), _>(TestkitError::UnknownCredential)),
        }
    }

    /// The credential with this id.
    fn find(&self, id: &[u8]) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.id == id)
    }
}
