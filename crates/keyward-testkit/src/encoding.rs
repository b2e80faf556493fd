//! Byte-level encodings: base64url, CBOR/COSE, clientDataJSON, authenticatorData,
//! ECDSA signatures, and the one-byte tampering the forge knobs apply.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest as _, Sha256};

use crate::TestkitError;

/// authenticatorData flag: user present.
pub(crate) const FLAG_UP: u8 = 0x01;
/// authenticatorData flag: user verified.
pub(crate) const FLAG_UV: u8 = 0x04;
/// authenticatorData flag: backup eligible (the credential may be synced).
pub(crate) const FLAG_BE: u8 = 0x08;
/// authenticatorData flag: backed up (the credential is synced).
pub(crate) const FLAG_BS: u8 = 0x10;
/// authenticatorData flag: attested credential data included.
pub(crate) const FLAG_AT: u8 = 0x40;

/// Offset of the last (least significant) byte of the signCount in authenticatorData.
const COUNTER_LSB: usize = 32 + 1 + 3;

/// Base64url without padding, as WebAuthn JSON uses.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url or standard base64, padded or not.
pub(crate) fn b64_decode_lenient(text: &str) -> Result<Vec<u8>, TestkitError> {
    let normalised: String = text
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    URL_SAFE_NO_PAD
        .decode(normalised)
        .map_err(|e| TestkitError::Options(format!("invalid base64 {text:?}: {e}")))
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A CBOR integer value.
pub(crate) fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

/// A CBOR text value.
pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// Serialise a CBOR value.
pub(crate) fn cbor(value: &Value) -> Result<Vec<u8>, TestkitError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| TestkitError::Crypto(e.to_string()))?;
    Ok(out)
}

/// The COSE_Key (EC2, ES256, P-256) of `key`'s public half, keys in CTAP2 canonical order.
pub(crate) fn cose_es256_public_key(key: &SigningKey) -> Result<Vec<u8>, TestkitError> {
    let point = key.verifying_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(TestkitError::Crypto("public key is the identity".into()));
    };
    cbor(&Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), Value::Bytes(x.to_vec())),
        (int(-3), Value::Bytes(y.to_vec())),
    ]))
}

/// The clientDataJSON a browser would produce (same member order as Chrome).
pub(crate) fn client_data_json(
    type_: &str,
    challenge: &[u8],
    origin: &str,
    cross_origin: bool,
) -> Vec<u8> {
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":{cross_origin}}}"#,
        quote(type_),
        quote(&b64url(challenge)),
        quote(origin),
    )
    .into_bytes()
}

/// Attested credential data: AAGUID ‖ credIdLen ‖ credId ‖ COSE_Key.
pub(crate) struct AttestedCredential<'a> {
    /// Authenticator model id.
    pub aaguid: [u8; 16],
    /// Credential id.
    pub credential_id: &'a [u8],
    /// Encoded COSE_Key.
    pub cose_key: &'a [u8],
}

/// authenticatorData: SHA-256(rp id) ‖ flags ‖ counter (BE) ‖ optional attested credential data.
pub(crate) fn authenticator_data(
    rp_id: &str,
    flags: u8,
    counter: u32,
    attested: Option<&AttestedCredential<'_>>,
) -> Result<Vec<u8>, TestkitError> {
    let mut out = Vec::with_capacity(37);
    out.extend_from_slice(&sha256(rp_id.as_bytes()));
    out.push(if attested.is_some() {
        flags | FLAG_AT
    } else {
        flags
    });
    out.extend_from_slice(&counter.to_be_bytes());
    if let Some(acd) = attested {
        let len = u16::try_from(acd.credential_id.len())
            .map_err(|_| TestkitError::Options("credential id longer than 65535 bytes".into()))?;
        out.extend_from_slice(&acd.aaguid);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(acd.credential_id);
        out.extend_from_slice(acd.cose_key);
    }
    Ok(out)
}

/// ECDSA P-256 / SHA-256 signature, DER encoded, over `auth_data ‖ SHA-256(client_data)`.
pub(crate) fn sign_ceremony(key: &SigningKey, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
    let mut message = auth_data.to_vec();
    message.extend_from_slice(&sha256(client_data));
    let signature: Signature = key.sign(&message);
    signature.to_der().as_bytes().to_vec()
}

/// Change clientDataJSON by one byte so that it still parses and every member a relying
/// party checks (type, challenge, origin, crossOrigin=false) keeps its value: the case of
/// the last letter of the `crossOrigin` key is flipped, making it an unknown member.
/// Only the signature over the client data hash can reveal it.
pub(crate) fn tamper_client_data(client_data: &mut [u8]) {
    let needle = b"\"crossOrigin\"";
    let at = client_data
        .windows(needle.len())
        .rposition(|w| w == needle)
        .map(|i| i + needle.len() - 2)
        .unwrap_or(client_data.len().saturating_sub(2));
    if let Some(byte) = client_data.get_mut(at) {
        *byte ^= 0x20;
    }
}

/// Flip the low bit of the signCount in authenticatorData: the data still parses and
/// passes every field check, only the signature can reveal it.
pub(crate) fn tamper_authenticator_data(auth_data: &mut [u8]) {
    if let Some(byte) = auth_data.get_mut(COUNTER_LSB) {
        *byte ^= 0x01;
    }
}

/// Flip the low bit of the last byte of a DER signature (the end of `s`): still valid DER,
/// but no longer a valid signature.
pub(crate) fn tamper_signature(signature: &mut [u8]) {
    if let Some(byte) = signature.last_mut() {
        *byte ^= 0x01;
    }
}
