//! Security keys and the WebAuthn ceremonies that enrol and use them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::Timestamp;

/// `{ceremony, publicKey}`: pass `publicKey` to `navigator.credentials`
/// (WebAuthn L3 JSON options), send the answer back with `ceremony`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeremonyOptions {
    /// Ceremony id, single use.
    pub ceremony: Uuid,
    /// `PublicKeyCredentialCreationOptionsJSON` or `…RequestOptionsJSON`.
    #[serde(rename = "publicKey")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: Value,
}

/// The authenticator's answer to a ceremony.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeremonyAnswer {
    /// The ceremony id from the options.
    pub ceremony: Uuid,
    /// The `PublicKeyCredential` as JSON (WebAuthn L3 `toJSON()`).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schemas::AssertionCredential))]
    pub credential: Value,
}

/// A new key's attestation, with the user's label for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    /// The ceremony id from the options.
    pub ceremony: Uuid,
    /// A name for the key, 1-64 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
            example = "YubiKey on my keyring"
        )
    )]
    pub label: String,
    /// The `PublicKeyCredential` as JSON (WebAuthn L3 `toJSON()`).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schemas::RegistrationCredential))]
    pub credential: Value,
}

/// A key's new label.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rename {
    /// 1-64 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub label: String,
}

/// An enrolled security key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Key {
    /// Key id.
    pub id: Uuid,
    /// The user's label.
    pub label: String,
    /// WebAuthn credential id (base64url).
    pub credential_id: String,
    /// Authenticator model (AAGUID), when attested.
    pub aaguid: Option<Uuid>,
    /// Attestation format (`packed`, `none`, …).
    pub attestation_format: String,
    /// When enrolled.
    pub created_at: Timestamp,
    /// Last successful assertion.
    pub last_used_at: Option<Timestamp>,
    /// The signature counter went backwards once: the key may be cloned.
    pub possibly_cloned: bool,
    /// The model's name (from FIDO metadata, or the built-in YubiKey list),
    /// e.g. "YubiKey 5 NFC"; absent when the key did not say or is unknown.
    pub model: Option<String>,
    /// The private key cannot leave the authenticator (not a synced
    /// passkey: the backup-eligible flag was clear at enrolment).
    pub device_bound: bool,
    /// The model's FIDO certification level (`L1`, `L2plus`, …), from
    /// metadata.
    pub certification: Option<String>,
    /// Set while FIDO metadata marks the key's model compromised: the key
    /// approves nothing; enrol another.
    pub suspended: Option<KeySuspension>,
    /// A removal the user's security lock delays: it can be finished (with
    /// a key touch) from then, and cancelled with a key before.
    #[serde(default)]
    pub removable_from: Option<Timestamp>,
}

/// Why and since when a key is suspended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeySuspension {
    /// The metadata status, e.g. `ATTESTATION_KEY_COMPROMISE`.
    pub status: String,
    /// Since when.
    pub since: Timestamp,
}

/// The user's keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyList {
    /// Keys, oldest first.
    pub keys: Vec<Key>,
}

/// A removed key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRemoved {
    /// Always `true`.
    pub removed: bool,
    /// How many other sessions were ended.
    pub sessions_ended: u64,
}

/// A fresh key assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reauthenticated {
    /// Always `true`.
    pub reauthenticated: bool,
    /// How long sensitive changes are unlocked.
    pub valid_for_seconds: u64,
}

/// A user's current key chain as Keyward holds it: the genesis first, then
/// every endorsed addition and removal. Verify it from your pin
/// (`keyward-proof`'s `chain::follow`); do not trust it as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyChain {
    /// The Keyward user id the chain's statements name.
    pub user_id: Uuid,
    /// The last entry's hash; none for a user without keys.
    pub head: Option<String>,
    /// The entries, genesis first.
    pub entries: Vec<keyward_proof::ChainEntry>,
}
