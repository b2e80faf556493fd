//! OpenAPI schemas of the response bodies that handlers build with `json!`
//! (and of the request bodies parsed from a loose `Value`). Documentation
//! only: the handlers stay the source of the actual bytes, and the HTTP
//! suite checks them.

#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// An RFC 3339 timestamp, e.g. `2025-01-01T12:00:00Z`.
pub type Timestamp = String;

/// `{ceremony, publicKey}`: pass `publicKey` to `navigator.credentials`
/// (WebAuthn L3 JSON options), send the answer back with `ceremony`.
#[derive(ToSchema)]
pub struct CeremonyOptions {
    /// Ceremony id, single use.
    pub ceremony: Uuid,
    /// `PublicKeyCredentialCreationOptionsJSON` or `…RequestOptionsJSON`.
    #[schema(rename = "publicKey", value_type = Object)]
    pub public_key: Value,
}

/// What to do after the password.
#[derive(ToSchema)]
pub struct NextStep {
    /// `key` (answer a key challenge) or `enrol_key` (no key yet).
    #[schema(example = "key")]
    pub next: String,
}

/// A new account.
#[derive(ToSchema)]
pub struct SignedUp {
    /// The new user.
    pub user_id: Uuid,
    /// Always `enrol_key`.
    pub next: String,
}

/// Signed in.
#[derive(ToSchema)]
pub struct SignedIn {
    /// Always `true`.
    pub signed_in: bool,
    /// The user.
    pub user_id: Uuid,
}

/// The session's stage.
#[derive(ToSchema)]
pub struct SessionInfo {
    /// `anonymous`, `password`, `enrolling`, `signed_in`, or `expired` (a
    /// sign-in or first enrolment left longer than a ceremony lives: start
    /// again with the password).
    pub stage: String,
    /// The user, once the password was accepted.
    pub user_id: Option<Uuid>,
    /// The username, once the password was accepted.
    pub username: Option<String>,
}

/// A password change.
#[derive(ToSchema)]
pub struct PasswordChanged {
    /// Always `true`.
    pub changed: bool,
    /// How many other sessions were ended.
    pub sessions_ended: u64,
    /// How many API keys were revoked (all of the user's).
    pub api_keys_revoked: u64,
}

/// An enrolled security key.
#[derive(ToSchema)]
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
}

/// The user's keys.
#[derive(ToSchema)]
pub struct KeyList {
    /// Keys, oldest first.
    pub keys: Vec<Key>,
}

/// A removed key.
#[derive(ToSchema)]
pub struct KeyRemoved {
    /// Always `true`.
    pub removed: bool,
    /// How many other sessions were ended.
    pub sessions_ended: u64,
}

/// A fresh key assertion.
#[derive(ToSchema)]
pub struct Reauthenticated {
    /// Always `true`.
    pub reauthenticated: bool,
    /// How long sensitive changes are unlocked.
    pub valid_for_seconds: u64,
}

/// A signed-in session.
#[derive(ToSchema)]
pub struct SessionView {
    /// Login id.
    pub id: Uuid,
    /// When signed in.
    pub created_at: Timestamp,
    /// Last request.
    pub last_seen_at: Timestamp,
    /// When it ends unless used.
    pub expires_at: Timestamp,
    /// Client address at sign-in.
    pub ip: String,
    /// Client user agent at sign-in.
    pub user_agent: String,
    /// This request's session.
    pub current: bool,
}

/// The user's sessions.
#[derive(ToSchema)]
pub struct SessionList {
    /// Active sessions.
    pub sessions: Vec<SessionView>,
}

/// A security event.
#[derive(ToSchema)]
pub struct AuditEvent {
    /// Sequence number (global, increasing).
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// Event name, e.g. `signin.succeeded`.
    pub event: String,
    /// Event details.
    #[schema(value_type = Object)]
    pub detail: Value,
    /// Client address.
    pub ip: Option<String>,
}

/// The user's security activity.
#[derive(ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEvent>,
}

/// The user's settings.
#[derive(ToSchema)]
pub struct SettingsView {
    /// Shown on the confirmation page, so a copied page gives itself away.
    pub anti_phishing_phrase: Option<String>,
}

/// The user's withdrawal state.
#[derive(ToSchema)]
pub struct WithdrawalStatus {
    /// Self-frozen.
    pub frozen: bool,
    /// Since when.
    pub frozen_at: Option<Timestamp>,
    /// Withdrawals held until (after a security change).
    pub held_until: Option<Timestamp>,
    /// Why they are held.
    pub hold_reason: Option<String>,
}

/// An allow-listed withdrawal address.
#[derive(ToSchema)]
pub struct Address {
    /// Entry id.
    pub id: Uuid,
    /// Network, e.g. `bitcoin`.
    pub network: String,
    /// The address.
    pub address: String,
    /// Memo / destination tag a withdrawal to it must carry, if any.
    pub memo: Option<String>,
    /// The user's label.
    pub label: Option<String>,
    /// When approved.
    pub created_at: Timestamp,
    /// End of the cooling-off.
    pub usable_from: Timestamp,
    /// Past the cooling-off.
    pub usable: bool,
}

/// The allow-list.
#[derive(ToSchema)]
pub struct AddressList {
    /// Entries.
    pub addresses: Vec<Address>,
}

/// The operator's freeze.
#[derive(ToSchema)]
pub struct GlobalFreeze {
    /// Withdrawals frozen for everyone.
    pub frozen: bool,
    /// The operator's reason.
    pub reason: Option<String>,
    /// Last change.
    pub changed_at: Timestamp,
}

/// Liveness or readiness.
#[derive(ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
    /// `sqlite` or `postgres` (readiness only).
    pub database: Option<String>,
}

/// A JSON Web Key Set (Ed25519 `OKP` keys with `kid`).
#[derive(ToSchema)]
pub struct Jwks {
    /// The keys.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<Value>,
}

pub use super::stepup_schemas::*;
