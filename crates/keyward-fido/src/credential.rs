//! The credential model: what Keyward keeps about an enrolled security key,
//! and the few fields it reads from the raw attestation object.

use ciborium::Value;
use uuid::Uuid;
use webauthn_rs::prelude::SecurityKey;

use crate::FidoError;

/// Longest credential id accepted (WebAuthn §7.1 step 18: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// A newly enrolled security key, ready to be stored.
#[derive(Debug, Clone)]
pub struct EnrolledKey {
    /// The webauthn-rs credential (public key, counter, policy), stored as JSON.
    pub key: SecurityKey,
    /// Raw credential id; unique across all users.
    pub credential_id: Vec<u8>,
    /// The authenticator model, when it told us (all-zero means "not saying").
    pub aaguid: Option<Uuid>,
    /// Attestation statement format (`packed`, `none`, ...).
    pub attestation_format: String,
    /// Signature counter at enrolment.
    pub counter: u32,
    /// The attestation object as the browser sent it (the key chain records
    /// its digest, and keeps it).
    pub attestation_object: Vec<u8>,
}

/// Serialises a key for storage.
pub fn key_to_json(key: &SecurityKey) -> Result<String, FidoError> {
    serde_json::to_string(key).map_err(|e| FidoError::CorruptState(e.to_string()))
}

/// Reads a stored key.
pub fn key_from_json(json: &str) -> Result<SecurityKey, FidoError> {
    serde_json::from_str(json).map_err(|e| FidoError::CorruptState(e.to_string()))
}

/// Whether a stored key is device-bound: its backup-eligible flag (BE) was
/// clear at enrolment, so the private key cannot be copied out of the
/// authenticator (into a synced passkey, say). A key that does not say is
/// not counted as device-bound.
pub fn is_device_bound(key: &SecurityKey) -> bool {
    serde_json::to_value(key)
        .ok()
        .and_then(|v| v.pointer("/cred/backup_eligible").and_then(|b| b.as_bool()))
        == Some(false)
}

/// Fields read from an attestation object (CBOR map with `fmt` and `authData`).
pub(crate) struct AttestationFacts {
    pub format: String,
    pub aaguid: Option<Uuid>,
    pub counter: u32,
    /// The UV flag of the attested authenticator data.
    pub user_verified: bool,
    /// `attStmt` is an empty map (what `fmt: "none"` requires, §8.7).
    pub empty_statement: bool,
}

/// Parses the attestation object enough to learn format, AAGUID and counter.
/// webauthn-rs has verified the object by the time this runs.
pub(crate) fn attestation_facts(attestation_object: &[u8]) -> Result<AttestationFacts, FidoError> {
    let malformed = || FidoError::refused("malformed_response");
    let value: Value = ciborium::from_reader(attestation_object).map_err(|_| malformed())?;
    let map = value.as_map().ok_or_else(malformed)?;
    let field = |name: &str| {
        map.iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v)
    };
    let format = field("fmt")
        .and_then(Value::as_text)
        .ok_or_else(malformed)?
        .to_owned();
    let auth_data = field("authData")
        .and_then(Value::as_bytes)
        .ok_or_else(malformed)?;
    // authData: rpIdHash(32) | flags(1) | signCount(4) | [aaguid(16) | ...]
    let flags = *auth_data.get(32).ok_or_else(malformed)?;
    let empty_statement = field("attStmt")
        .and_then(Value::as_map)
        .is_some_and(|m| m.is_empty());
    let counter_bytes: [u8; 4] = auth_data
        .get(33..37)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(malformed)?;
    let aaguid = auth_data
        .get(37..53)
        .and_then(|s| Uuid::from_slice(s).ok())
        .filter(|u| !u.is_nil());
    Ok(AttestationFacts {
        format,
        aaguid,
        counter: u32::from_be_bytes(counter_bytes),
        user_verified: flags & 0x04 != 0,
        empty_statement,
    })
}
