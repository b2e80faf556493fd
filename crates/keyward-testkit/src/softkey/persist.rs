//! Saving a [`SoftKey`] to JSON and loading it back, so a key outlives one process
//! (the `softkey` command line keeps one per file).
//!
//! The format is documented on [`SoftKey::to_json`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Credential, SoftKey};
use crate::encoding::b64url;
use crate::{Attestation, TestkitError};

/// The only format version written and read.
const VERSION: u32 = 1;

/// A whole key as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    /// Format version, [`VERSION`].
    version: u32,
    /// The AAGUID written into attested credential data.
    aaguid: Uuid,
    /// The attestation the key produces.
    attestation: StoredAttestation,
    /// The credentials, in creation order.
    credentials: Vec<StoredCredential>,
    /// Backup eligible and backed up, like a synced passkey.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    synced: bool,
}

/// The attestation kinds that can be stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StoredAttestation {
    /// [`Attestation::None`].
    None,
    /// [`Attestation::PackedSelf`].
    PackedSelf,
}

/// One credential as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredCredential {
    /// Credential id, base64url.
    id: String,
    /// The P-256 private key, PKCS#8 DER, base64url.
    private_key: String,
    /// Relying party id the credential is scoped to.
    rp_id: String,
    /// `user.id` from the creation options, base64url.
    user_handle: Option<String>,
    /// Signature counter (the last value reported).
    counter: u32,
}

/// A state error.
fn state_err(why: impl Into<String>) -> TestkitError {
    TestkitError::State(why.into())
}

/// Decode one base64url field of credential number `index`.
fn decode(text: &str, index: usize, field: &str) -> Result<Vec<u8>, TestkitError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|e| {
        state_err(format!(
            "credentials[{index}].{field}: invalid base64url: {e}"
        ))
    })
}

impl SoftKey {
    /// The key's whole state as JSON, for [`SoftKey::from_json`]. It holds private keys:
    /// store it accordingly. Format version 1, binary data base64url without padding,
    /// `attestation` `"none"` or `"packed-self"`, `user_handle` possibly `null`:
    ///
    /// ```json
    /// {
    ///   "version": 1,
    ///   "aaguid": "00000000-0000-0000-0000-000000000000",
    ///   "attestation": "none",
    ///   "credentials": [{
    ///     "id": "<credential id>",
    ///     "private_key": "<PKCS#8 DER of the P-256 key>",
    ///     "rp_id": "localhost",
    ///     "user_handle": "<user.id from the creation options>",
    ///     "counter": 3
    ///   }]
    /// }
    /// ```
    ///
    /// # Errors
    /// [`TestkitError::State`] for a key with `PackedX5c` attestation, which is not
    /// persisted; [`TestkitError::Crypto`] if a private key cannot be encoded.
    pub fn to_json(&self) -> Result<Value, TestkitError> {
        let attestation = match &self.attestation {
            Attestation::None => StoredAttestation::None,
            Attestation::PackedSelf => StoredAttestation::PackedSelf,
            Attestation::PackedX5c(_) => {
                return Err(state_err(
                    "keys with PackedX5c attestation cannot be persisted \
                     (only None and PackedSelf can)",
                ));
            }
        };
        let credentials = self
            .credentials
            .iter()
            .map(|c| {
                let der = c
                    .key
                    .to_pkcs8_der()
                    .map_err(|e| TestkitError::Crypto(format!("PKCS#8 encoding: {e}")))?;
                Ok(StoredCredential {
                    id: b64url(&c.id),
                    private_key: b64url(der.as_bytes()),
                    rp_id: c.rp_id.clone(),
                    user_handle: c.user_handle.as_deref().map(b64url),
                    counter: c.counter,
                })
            })
            .collect::<Result<_, TestkitError>>()?;
        let stored = StoredKey {
            version: VERSION,
            aaguid: Uuid::from_bytes(self.aaguid),
            attestation,
            credentials,
            synced: self.synced,
        };
        serde_json::to_value(&stored).map_err(|e| state_err(e.to_string()))
    }

    /// Load a key saved by [`SoftKey::to_json`].
    ///
    /// # Errors
    /// [`TestkitError::State`] if the JSON is not a version 1 key state: a missing, unknown
    /// or mistyped member, invalid base64url, a private key that is not P-256 PKCS#8, or
    /// two credentials with the same id.
    pub fn from_json(json: &Value) -> Result<SoftKey, TestkitError> {
        let stored = StoredKey::deserialize(json).map_err(|e| state_err(e.to_string()))?;
        if stored.version != VERSION {
            return Err(state_err(format!(
                "unsupported version {} (expected {VERSION})",
                stored.version
            )));
        }
        let mut credentials: Vec<Credential> = Vec::with_capacity(stored.credentials.len());
        for (index, c) in stored.credentials.into_iter().enumerate() {
            let id = decode(&c.id, index, "id")?;
            if credentials.iter().any(|held| held.id == id) {
                return Err(state_err(format!(
                    "credentials[{index}].id: duplicate credential id {}",
                    c.id
                )));
            }
            let der = decode(&c.private_key, index, "private_key")?;
            let key = SigningKey::from_pkcs8_der(&der).map_err(|e| {
                state_err(format!(
                    "credentials[{index}].private_key: not a P-256 PKCS#8 key: {e}"
                ))
            })?;
            let user_handle = c
                .user_handle
                .as_deref()
                .map(|h| decode(h, index, "user_handle"))
                .transpose()?;
            credentials.push(Credential {
                id,
                key,
                rp_id: c.rp_id,
                user_handle,
                counter: c.counter,
            });
        }
        Ok(SoftKey {
            synced: stored.synced,
            aaguid: stored.aaguid.into_bytes(),
            attestation: match stored.attestation {
                StoredAttestation::None => Attestation::None,
                StoredAttestation::PackedSelf => Attestation::PackedSelf,
            },
            credentials,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::TestCa;
    use serde_json::json;

    fn options() -> Value {
        json!({"publicKey": {
            "challenge": "AAEC",
            "rp": {"id": "localhost", "name": "t"},
            "user": {"id": "dXNlcg", "name": "u", "displayName": "U"},
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        }})
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let mut key = SoftKey::new()
            .with_attestation(Attestation::PackedSelf)
            .with_aaguid(*b"keyward-testkit!");
        key.register(&options(), "http://localhost:8080");
        key.register(&options(), "http://localhost:8080");
        let ids = key.credential_ids();
        key.set_counter(&ids[1], 41);

        let saved = key.to_json().unwrap();
        assert_eq!(saved["version"], 1);
        assert_eq!(saved["attestation"], "packed-self");
        assert_eq!(saved["aaguid"], "6b657977-6172-642d-7465-73746b697421");
        assert_eq!(saved["credentials"][0]["user_handle"], "dXNlcg");

        let loaded = SoftKey::from_json(&saved).unwrap();
        assert_eq!(loaded.aaguid, key.aaguid);
        assert!(matches!(loaded.attestation, Attestation::PackedSelf));
        assert_eq!(loaded.credentials.len(), 2);
        for (a, b) in loaded.credentials.iter().zip(&key.credentials) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.key.to_bytes(), b.key.to_bytes());
            assert_eq!(a.rp_id, b.rp_id);
            assert_eq!(a.user_handle, b.user_handle);
            assert_eq!(a.counter, b.counter);
        }
        assert_eq!(loaded.counter(&ids[1]), Some(41));
        assert_eq!(loaded.to_json().unwrap(), saved);
    }

    #[test]
    fn empty_key_round_trips() {
        let saved = SoftKey::new().to_json().unwrap();
        assert_eq!(saved["attestation"], "none");
        assert_eq!(saved["credentials"], json!([]));
        let loaded = SoftKey::from_json(&saved).unwrap();
        assert!(loaded.credential_ids().is_empty());
    }

    #[test]
    fn packed_x5c_is_refused_with_a_clear_error() {
        let ca = TestCa::generate("Keyward Test Vendor");
        let key = SoftKey::new()
            .with_attestation(Attestation::PackedX5c(ca.issue_attestation_cert([1; 16])));
        let err = key.to_json().unwrap_err();
        assert!(matches!(err, TestkitError::State(_)), "{err:?}");
        assert!(err.to_string().contains("PackedX5c"), "{err}");
    }

    #[test]
    fn bad_state_is_refused() {
        let mut key = SoftKey::new();
        key.register(&options(), "http://localhost:8080");
        let good = key.to_json().unwrap();

        let mut cases = Vec::new();
        let mut v = good.clone();
        v["version"] = json!(2);
        cases.push((v, "unsupported version"));
        let mut v = good.clone();
        v["attestation"] = json!("packed-x5c");
        cases.push((v, "unknown variant"));
        let mut v = good.clone();
        v["credentials"][0]["private_key"] = json!("AAAA");
        cases.push((v, "not a P-256 PKCS#8 key"));
        let mut v = good.clone();
        v["credentials"][0]["id"] = json!("not base64!");
        cases.push((v, "invalid base64url"));
        let mut v = good.clone();
        let first = v["credentials"][0].clone();
        v["credentials"].as_array_mut().unwrap().push(first);
        cases.push((v, "duplicate credential id"));
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove("credentials");
        cases.push((v, "missing field"));
        cases.push((json!("nope"), "invalid type"));

        for (json, expected) in cases {
            let err = SoftKey::from_json(&json).unwrap_err();
            assert!(matches!(err, TestkitError::State(_)), "{err:?}");
            assert!(err.to_string().contains(expected), "{err} lacks {expected}");
        }
    }
}
