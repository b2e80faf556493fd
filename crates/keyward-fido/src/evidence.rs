//! Captures offline-checkable evidence ([`keyward_proof::evidence`]) from
//! webauthn-rs's types: the public key of an enrolled key, and the raw
//! assertion a key made. The checks themselves live in `keyward-proof`, so
//! an exchange runs them without webauthn-rs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_proof::{AssertionEvidence, EvidenceFacts, PublicKeyBytes};
use p256::ecdsa::VerifyingKey;
use serde_json::Value;
use webauthn_rs::prelude::{PublicKeyCredential, SecurityKey};
use webauthn_rs_proto::COSEAlgorithm;

use crate::FidoError;

/// Where webauthn-rs 0.6 keeps the COSE key inside a serialised `SecurityKey`.
const COSE_KEY_POINTER: &str = "/cred/cred";

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
pub fn public_key_of(key: &SecurityKey) -> Result<PublicKeyBytes, FidoError> {
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
    Ok(PublicKeyBytes::Es256(point))
}

/// Captures evidence from an assertion and the enrolled key that signed it.
/// Call it after [`crate::Fido::finish_authentication`] succeeded.
///
/// Security: refuses (`credential_not_allowed`) a response whose credential
/// id is not `key`'s, so evidence never pairs a signature with another key;
/// non-ES256 keys are `unsupported_algorithm` (see [`public_key_of`]).
pub fn capture(
    response: &PublicKeyCredential,
    key: &SecurityKey,
) -> Result<AssertionEvidence, FidoError> {
    if response.raw_id.as_slice() != key.cred_id().as_slice() {
        return Err(FidoError::refused("credential_not_allowed"));
    }
    Ok(AssertionEvidence {
        credential_id: response.raw_id.clone(),
        authenticator_data: response.response.authenticator_data.clone(),
        client_data_json: response.response.client_data_json.clone(),
        signature: response.response.signature.clone(),
        public_key: public_key_of(key)?,
    })
}

/// [`keyward_proof::verify_evidence`], its refusal as a [`FidoError`].
pub fn verify_evidence(
    evidence: &AssertionEvidence,
    expected_challenge: &[u8; 32],
    rp_id: &str,
    origin: &str,
) -> Result<EvidenceFacts, FidoError> {
    keyward_proof::verify_evidence(evidence, expected_challenge, rp_id, origin)
        .map_err(|r| FidoError::refused(r.0))
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
        let point = public_key_of(&key).unwrap();
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
            public_key_of(&key).unwrap(),
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
            public_key_of(&key),
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
            public_key_of(&key),
            Err(FidoError::CorruptState(_))
        ));
    }
}
