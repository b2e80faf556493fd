//! Evidence of an approved assertion, kept so the approval can be re-verified
//! offline (audits, disputes) with p256 alone, without webauthn-rs or its
//! state. It must not decide whether an action is allowed, nor trust any key
//! it is handed: it re-checks cryptographic facts against inputs (challenge,
//! rp id, origin, and the enrolled public key) that the caller must trust.
//!
//! JSON form of [`AssertionEvidence`] (stable; every byte string is base64url
//! without padding; unknown fields are refused):
//!
//! ```json
//! {
//!   "credential_id": "<b64url>",
//!   "authenticator_data": "<b64url>",
//!   "client_data_json": "<b64url>",
//!   "signature": "<b64url, ASN.1 DER ECDSA signature>",
//!   "public_key": { "alg": "ES256", "key": "<b64url, SEC1 0x04‖x‖y, 65 bytes>" }
//! }
//! ```

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{PublicKeyCredential, SecurityKey};
use webauthn_rs_proto::COSEAlgorithm;

use crate::FidoError;

/// authenticatorData flag: user present.
const FLAG_UP: u8 = 0x01;
/// authenticatorData flag: user verified.
const FLAG_UV: u8 = 0x04;
/// Where webauthn-rs 0.6 keeps the COSE key inside a serialised `SecurityKey`.
const COSE_KEY_POINTER: &str = "/cred/cred";

/// A credential public key in a form verifiable without webauthn-rs.
///
/// Security: evidence must stay checkable after webauthn-rs (and its storage
/// format) is upgraded or gone, so the key is kept in a plain standard
/// encoding, tagged with its algorithm so it is never used with another one.
/// JSON: `{"alg": "ES256", "key": "<b64url>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alg", content = "key", deny_unknown_fields)]
pub enum PublicKeyBytes {
    /// ECDSA P-256 with SHA-256 (COSE -7): the SEC1 uncompressed point
    /// `0x04 ‖ x ‖ y` (65 bytes).
    #[serde(rename = "ES256")]
    Es256(#[serde(with = "b64")] Vec<u8>),
}

impl PublicKeyBytes {
    /// Reads the public key of an enrolled security key.
    ///
    /// webauthn-rs keeps the key in crate-private fields, so this reads the
    /// key's serde JSON (`cred.cred = {"type_": "ES256", "key": {"EC_EC2":
    /// {"curve": "SECP256R1", "x": .., "y": ..}}}`, coordinates as base64url
    /// strings or, in older stored keys, byte arrays). Only ES256 on P-256 is
    /// supported; any other algorithm is `Refused { reason:
    /// "unsupported_algorithm" }`, so callers cannot record evidence they
    /// could never verify. A layout this code does not recognise, or a point
    /// that is not on the curve, is `CorruptState`, never a guess.
    pub fn from_security_key(key: &SecurityKey) -> Result<Self, FidoError> {
        if *key.cred_algorithm() != COSEAlgorithm::ES256 {
            return Err(FidoError::refused("unsupported_algorithm"));
        }
        let corrupt = |what: &str| FidoError::CorruptState(format!("security key JSON: {what}"));
        let json = serde_json::to_value(key).map_err(|e| corrupt(&e.to_string()))?;
        let cose = json
            .pointer(COSE_KEY_POINTER)
            .ok_or_else(|| corrupt("no cred.cred"))?;
        if cose.get("type_").and_then(Value::as_str) != Some("ES256") {
            return Err(corrupt("cred.cred.type_ is not \"ES256\""));
        }
        let ec2 = cose
            .pointer("/key/EC_EC2")
            .ok_or_else(|| corrupt("ES256 key without key.EC_EC2"))?;
        if ec2.get("curve").and_then(Value::as_str) != Some("SECP256R1") {
            return Err(FidoError::refused("unsupported_algorithm"));
        }
        let coordinate = |name: &str| -> Result<Vec<u8>, FidoError> {
            let bytes = match ec2.get(name) {
                Some(Value::String(s)) => URL_SAFE_NO_PAD.decode(s).ok(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                    .collect(),
                _ => None,
            };
            bytes
                .filter(|b| b.len() == 32)
                .ok_or_else(|| corrupt(&format!("EC_EC2.{name} is not 32 bytes")))
        };
        let mut point = vec![0x04];
        point.extend(coordinate("x")?);
        point.extend(coordinate("y")?);
        VerifyingKey::from_sec1_bytes(&point).map_err(|_| corrupt("point not on P-256"))?;
        Ok(Self::Es256(point))
    }
}

/// Everything needed to re-verify one assertion offline.
///
/// Security: the signature covers `authenticator_data ‖
/// SHA-256(client_data_json)`, and client data holds the challenge, which for
/// step-up commits to the withdrawal; so this record proves the holder of
/// `public_key` approved that withdrawal. `credential_id` is not signed: it
/// is a label. An auditor must check `public_key` against their own record
/// of the user's enrolled key. See the module docs for the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionEvidence {
    /// Raw credential id of the key that signed (unsigned label).
    #[serde(with = "b64")]
    pub credential_id: Vec<u8>,
    /// Raw authenticatorData as signed (rp id hash, flags, counter).
    #[serde(with = "b64")]
    pub authenticator_data: Vec<u8>,
    /// Raw clientDataJSON bytes as hashed into the signature.
    #[serde(with = "b64")]
    pub client_data_json: Vec<u8>,
    /// The assertion signature (ES256: ASN.1 DER).
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
    /// The enrolled key's public key.
    pub public_key: PublicKeyBytes,
}

/// Facts an evidence record proves once verified.
///
/// Security: these come from the signed authenticatorData, so they can be
/// relied on (e.g. to show the user verified with PIN or biometric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceFacts {
    /// UV flag: the authenticator verified the user (PIN / biometric).
    pub user_verified: bool,
    /// Signature counter reported by the authenticator.
    pub counter: u32,
}

impl AssertionEvidence {
    /// Captures evidence from an assertion and the enrolled key that signed
    /// it. Call it after [`crate::Fido::finish_authentication`] succeeded.
    ///
    /// Security: refuses (`credential_not_allowed`) a response whose
    /// credential id is not `key`'s, so evidence never pairs a signature with
    /// another key; non-ES256 keys are `unsupported_algorithm` (see
    /// [`PublicKeyBytes::from_security_key`]).
    pub fn from_response(
        response: &PublicKeyCredential,
        key: &SecurityKey,
    ) -> Result<Self, FidoError> {
        if response.raw_id.as_slice() != key.cred_id().as_slice() {
            return Err(FidoError::refused("credential_not_allowed"));
        }
        Ok(Self {
            credential_id: response.raw_id.clone(),
            authenticator_data: response.response.authenticator_data.clone(),
            client_data_json: response.response.client_data_json.clone(),
            signature: response.response.signature.clone(),
            public_key: PublicKeyBytes::from_security_key(key)?,
        })
    }
}

/// clientDataJSON fields checked offline; duplicate keys are refused.
#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    type_: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

/// base64url, alphabet strict, padding optional (browsers omit it).
const B64URL_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Re-verifies evidence offline, with p256 only. Checks, in order: the
/// public key parses (`malformed_response`); the DER ECDSA P-256 / SHA-256
/// signature over `authenticator_data ‖ SHA-256(client_data_json)`
/// (`bad_signature`); clientDataJSON parses (`malformed_response`), its
/// `type` is `webauthn.get` (`wrong_client_data_type`), its `challenge`
/// decodes to `expected_challenge` (`challenge_mismatch`), its `origin`
/// equals `origin` exactly and it is not `crossOrigin` (`origin_mismatch`);
/// authenticatorData is at least 37 bytes (`malformed_response`), starts with
/// SHA-256(`rp_id`) (`rp_id_mismatch`) and has the UP flag
/// (`user_not_present`).
///
/// Security: the signature is checked first so every later check reads
/// authenticated bytes. `origin` is the serialised origin browsers report
/// (`https://exchange.example`, no trailing slash). This proves what the
/// key signed, not that the key belongs to the user: compare
/// `evidence.public_key` with the enrolled key, and the counter with what was
/// recorded at the time.
pub fn verify_evidence(
    evidence: &AssertionEvidence,
    expected_challenge: &[u8; 32],
    rp_id: &str,
    origin: &str,
) -> Result<EvidenceFacts, FidoError> {
    let refused = FidoError::refused;
    let key = match &evidence.public_key {
        PublicKeyBytes::Es256(sec1) if sec1.len() == 65 && sec1.first() == Some(&0x04) => {
            VerifyingKey::from_sec1_bytes(sec1).map_err(|_| refused("malformed_response"))?
        }
        PublicKeyBytes::Es256(_) => return Err(refused("malformed_response")),
    };
    let signature =
        Signature::from_der(&evidence.signature).map_err(|_| refused("bad_signature"))?;
    let mut signed = evidence.authenticator_data.clone();
    signed.extend_from_slice(&Sha256::digest(&evidence.client_data_json));
    key.verify(&signed, &signature)
        .map_err(|_| refused("bad_signature"))?;

    let client: ClientData = serde_json::from_slice(&evidence.client_data_json)
        .map_err(|_| refused("malformed_response"))?;
    if client.type_ != "webauthn.get" {
        return Err(refused("wrong_client_data_type"));
    }
    let challenge = B64URL_ANY_PAD
        .decode(&client.challenge)
        .map_err(|_| refused("challenge_mismatch"))?;
    if challenge != expected_challenge.as_slice() {
        return Err(refused("challenge_mismatch"));
    }
    if client.origin != origin || client.cross_origin == Some(true) {
        return Err(refused("origin_mismatch"));
    }

    let auth = &evidence.authenticator_data;
    let (rp_id_hash, flags, counter) = match (auth.get(..32), auth.get(32), auth.get(33..37)) {
        (Some(hash), Some(&flags), Some(counter)) => (hash, flags, counter),
        _ => return Err(refused("malformed_response")),
    };
    let expected_rp_id_hash: [u8; 32] = Sha256::digest(rp_id.as_bytes()).into();
    if rp_id_hash != expected_rp_id_hash {
        return Err(refused("rp_id_mismatch"));
    }
    if flags & FLAG_UP == 0 {
        return Err(refused("user_not_present"));
    }
    let counter: [u8; 4] = counter
        .try_into()
        .map_err(|_| refused("malformed_response"))?;
    Ok(EvidenceFacts {
        user_verified: flags & FLAG_UV != 0,
        counter: u32::from_be_bytes(counter),
    })
}

/// Serde helpers: bytes as base64url without padding (strict on input).
mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        URL_SAFE_NO_PAD.decode(s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::key_from_json;

    /// A `SecurityKey` as webauthn-rs 0.6.2 serialises it (from a SoftKey).
    const STORED_KEY: &str = r#"{"cred":{"cred_id":"6BtkrPvPlM_HsjiSMV-awHPKL-vMo2Vv9skNHJ5qFk0",
        "cred":{"type_":"ES256","key":{"EC_EC2":{"curve":"SECP256R1",
        "x":"iIN5x4xMs2SZQG70qA8Rv_Utbg2DPtayFELenxx-75s",
        "y":"20iEQ1AUJ_mh4lCaozfOjQnnXfgeCwGorfY8R5m6ors"}}},
        "counter":0,"transports":null,"user_verified":true,"backup_eligible":false,
        "backup_state":false,"registration_policy":"preferred",
        "extensions":{"cred_protect":"Ignored","hmac_create_secret":"NotRequested",
        "appid":"NotRequested","cred_props":"Ignored"},
        "attestation":{"data":"None","metadata":"None"},"attestation_format":"none"}}"#;

    fn expected_point() -> Vec<u8> {
        let mut point = vec![0x04];
        point.extend(
            URL_SAFE_NO_PAD
                .decode("iIN5x4xMs2SZQG70qA8Rv_Utbg2DPtayFELenxx-75s")
                .unwrap(),
        );
        point.extend(
            URL_SAFE_NO_PAD
                .decode("20iEQ1AUJ_mh4lCaozfOjQnnXfgeCwGorfY8R5m6ors")
                .unwrap(),
        );
        point
    }

    fn edit(f: impl FnOnce(&mut Value)) -> SecurityKey {
        let mut json: Value = serde_json::from_str(STORED_KEY).unwrap();
        f(&mut json);
        key_from_json(&json.to_string()).unwrap()
    }

    /// Fails when a webauthn-rs upgrade changes how a `SecurityKey` serialises
    /// its public key (the round trip re-serialises with the current version).
    #[test]
    fn es256_point_is_read_from_the_security_key_layout() {
        let key = key_from_json(STORED_KEY).unwrap();
        let json = serde_json::to_value(&key).unwrap();
        assert!(
            json.pointer("/cred/cred/key/EC_EC2/x")
                .is_some_and(Value::is_string)
        );
        let point = PublicKeyBytes::from_security_key(&key).unwrap();
        assert_eq!(point, PublicKeyBytes::Es256(expected_point()));
    }

    #[test]
    fn coordinates_stored_as_byte_arrays_are_read_too() {
        let key = edit(|json| {
            let ec2 = json.pointer_mut("/cred/cred/key/EC_EC2").unwrap();
            for name in ["x", "y"] {
                let s = ec2[name].as_str().unwrap();
                ec2[name] = serde_json::json!(URL_SAFE_NO_PAD.decode(s).unwrap());
            }
        });
        assert_eq!(
            PublicKeyBytes::from_security_key(&key).unwrap(),
            PublicKeyBytes::Es256(expected_point())
        );
    }

    #[test]
    fn other_algorithms_are_unsupported() {
        let key = edit(|json| {
            json["cred"]["cred"] = serde_json::json!({"type_": "EDDSA", "key": {"EC_OKP": {
                "curve": "ED25519", "x": URL_SAFE_NO_PAD.encode([3; 32])}}});
        });
        assert!(matches!(
            PublicKeyBytes::from_security_key(&key),
            Err(FidoError::Refused {
                reason: "unsupported_algorithm"
            })
        ));
    }

    #[test]
    fn a_point_off_the_curve_is_corrupt() {
        let key = edit(|json| {
            json["cred"]["cred"]["key"]["EC_EC2"]["y"] = URL_SAFE_NO_PAD.encode([1; 32]).into();
        });
        assert!(matches!(
            PublicKeyBytes::from_security_key(&key),
            Err(FidoError::CorruptState(_))
        ));
    }

    #[test]
    fn public_key_json_is_tagged_with_its_algorithm() {
        let json = serde_json::to_value(PublicKeyBytes::Es256(vec![4, 1, 2])).unwrap();
        assert_eq!(json, serde_json::json!({"alg": "ES256", "key": "BAEC"}));
        let unknown = serde_json::json!({"alg": "RS256", "key": "BAEC"});
        assert!(serde_json::from_value::<PublicKeyBytes>(unknown).is_err());
    }
}
