//! OpenAPI schemas of the step-up and API-key response bodies (built with
//! `json!` by the handlers). Documentation only; re-exported by `schemas`.

#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schemas::Timestamp;

/// Step-up options: the ceremony plus the step-up being approved.
#[derive(ToSchema)]
pub struct StepUpOptions {
    /// Ceremony id, single use.
    pub ceremony: Uuid,
    /// WebAuthn request options; the challenge commits to the details.
    #[schema(rename = "publicKey", value_type = Object)]
    pub public_key: Value,
    /// The step-up.
    pub step_up: StepUp,
}

/// A step-up: a sensitive action waiting for (or past) a key approval.
#[derive(Serialize, ToSchema)]
pub struct StepUp {
    /// Step-up id.
    pub id: Uuid,
    /// Whose approval.
    pub user_id: Uuid,
    /// `withdrawal`, `address.add` or `api_key.create`.
    pub action: String,
    /// The canonical details the key approves.
    #[schema(value_type = Object)]
    pub details: Value,
    /// Lower-case hex SHA-256 of the canonical JSON of
    /// `{"action": action, "details": details}` (keys sorted, no
    /// whitespace): the action and the details together, not the details
    /// alone. Approval tokens carry the same value as `details_digest`.
    pub digest: String,
    /// `pending`, `held`, `denied`, `approved`, `redeemed`, `expired` or
    /// `refused` (the policy refused at redeem; `reason` says why).
    pub status: String,
    /// Why held or denied (`withdrawals_frozen`, `account_frozen`, `held`,
    /// `address_not_allowed`, `address_cooling_off`, `daily_limit_exceeded`).
    pub reason: Option<String>,
    /// When a hold ends.
    pub held_until: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// End of the approval window.
    pub expires_at: Timestamp,
    /// When approved.
    pub approved_at: Option<Timestamp>,
    /// Until when the approval may be redeemed.
    pub approval_expires_at: Option<Timestamp>,
    /// When redeemed.
    pub redeemed_at: Option<Timestamp>,
    /// The hosted confirmation page.
    pub confirm_url: String,
}

/// A step-up the user must approve with a key.
#[derive(ToSchema)]
pub struct StepUpAccepted {
    /// The `pending` step-up.
    pub step_up: StepUp,
}

/// What the confirmation page shows.
#[derive(ToSchema)]
pub struct StepUpSummary {
    /// The step-up.
    pub step_up: StepUp,
    /// The user's phrase.
    pub anti_phishing_phrase: Option<String>,
    /// Seconds left to approve.
    pub seconds_left: i64,
}

/// An approval.
#[derive(ToSchema)]
pub struct Approved {
    /// Step-up id.
    pub id: Uuid,
    /// Always `approved`.
    pub status: String,
    /// EdDSA JWT (keys at `/.well-known/jwks.json`).
    pub approval: String,
    /// Redeem before this.
    pub approval_expires_at: Timestamp,
}

/// A redeemed approval: the step-up with what the key proved.
#[derive(Serialize, ToSchema)]
pub struct Redeemed {
    /// The step-up, now `redeemed`.
    #[serde(flatten)]
    pub step_up: StepUp,
    /// Whether the user verified (PIN/biometric).
    pub user_verified: Option<bool>,
    /// The key that approved.
    pub credential_key_id: Option<Uuid>,
}

/// The details of a user API key.
#[derive(ToSchema)]
pub struct ApiKeyDetails {
    /// The user's label.
    pub label: String,
    /// Some of `read`, `trade`, `withdraw`.
    pub scopes: Vec<String>,
    /// Addresses or networks the key may be used from (required for `withdraw`).
    pub ip_allowlist: Vec<String>,
    /// Lifetime in days.
    pub expires_in_days: Option<u32>,
}

/// Creating a key: the approved details plus the approved step-up.
#[derive(ToSchema)]
pub struct ApiKeyCreate {
    /// The approved `api_key.create` step-up.
    pub step_up_id: Uuid,
    /// Exactly the approved label.
    pub label: String,
    /// Exactly the approved scopes.
    pub scopes: Vec<String>,
    /// Exactly the approved allow-list.
    pub ip_allowlist: Vec<String>,
    /// Exactly the approved lifetime.
    pub expires_in_days: Option<u32>,
}

/// A user API key (never the secret).
#[derive(ToSchema)]
pub struct ApiKey {
    /// Key id.
    pub id: Uuid,
    /// The user's label.
    pub label: String,
    /// Public prefix, for recognising the key.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Allowed client addresses or networks.
    pub ip_allowlist: Vec<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
    /// Last verified use.
    pub last_used_at: Option<Timestamp>,
    /// When revoked.
    pub revoked_at: Option<Timestamp>,
}

/// A created key with its secret (`kw_api_…`, shown once).
#[derive(ToSchema)]
pub struct ApiKeyCreated {
    /// Key id.
    pub id: Uuid,
    /// The user's label.
    pub label: String,
    /// Public prefix.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Allowed client addresses or networks.
    pub ip_allowlist: Vec<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
    /// The secret: shown once, never stored.
    pub secret: String,
}

/// The user's API keys.
#[derive(ToSchema)]
pub struct ApiKeyList {
    /// Keys, live and revoked.
    pub api_keys: Vec<ApiKey>,
}

/// Keys revoked.
#[derive(ToSchema)]
pub struct Revoked {
    /// How many.
    pub revoked: u64,
}

/// A verified API key.
#[derive(ToSchema)]
pub struct VerifiedKey {
    /// The key's owner.
    pub user_id: Uuid,
    /// The key.
    pub key_id: Uuid,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its expiry.
    pub expires_at: Option<Timestamp>,
}
