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
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Refusal;

/// authenticatorData flag: user present.
const FLAG_UP: u8 = 0x01;
/// authenticatorData flag: user verified.
const FLAG_UV: u8 = 0x04;

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

/// Everything needed to re-verify one assertion offline.
///
/// Security: the signature covers `authenticator_data ‖
/// SHA-256(client_data_json)`, and client data holds the challenge, which for
/// step-up commits to the withdrawal; so this record proves the holder of
/// `public_key` approved that withdrawal. `credential_id` is not signed: it
/// is a label. An auditor must check `public_key` against their own record
/// of the user's enrolled key. See the module docs for the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssertionEvidence {
    /// Raw credential id of the key that signed (unsigned label).
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credential_id: Vec<u8>,
    /// Raw authenticatorData as signed (rp id hash, flags, counter).
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub authenticator_data: Vec<u8>,
    /// Raw clientDataJSON bytes as hashed into the signature.
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub client_data_json: Vec<u8>,
    /// The assertion signature (ES256: ASN.1 DER).
    #[serde(with = "b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub signature: Vec<u8>,
    /// The enrolled key's public key.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
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
) -> Result<EvidenceFacts, Refusal> {
    let refused = Refusal;
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

/// Serde helpers: bytes as base64url without padding (strict on input),
/// for `#[serde(with = "keyward_proof::evidence::b64")]`.
pub mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    /// Writes `bytes` as base64url without padding.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads base64url without padding.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        URL_SAFE_NO_PAD.decode(s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_json_is_tagged_with_its_algorithm() {
        let json = serde_json::to_value(PublicKeyBytes::Es256(vec![4, 1, 2])).unwrap();
        assert_eq!(json, serde_json::json!({"alg": "ES256", "key": "BAEC"}));
        let unknown = serde_json::json!({"alg": "RS256", "key": "BAEC"});
        assert!(serde_json::from_value::<PublicKeyBytes>(unknown).is_err());
    }
}
