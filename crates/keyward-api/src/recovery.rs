//! Account recovery for a user who lost every key: one-time recovery codes,
//! and a recovery that a code and the password only *start*. It completes
//! after a delay during which any of the account's keys can cancel it.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A new set of recovery codes, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    /// Ten one-time codes (`XXXXX-XXXXX-XXXXX-XXXXX`, 100 bits each). Any
    /// earlier set stopped working.
    pub codes: Vec<String>,
    /// When they were made.
    pub created_at: Timestamp,
}

/// What the signed-in user's recovery stands at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryStatus {
    /// Unused recovery codes.
    pub codes_remaining: u32,
    /// When the current codes were made; none if never.
    pub codes_created_at: Option<Timestamp>,
    /// A recovery under way, which any of the user's keys may cancel.
    pub pending: Option<PendingRecovery>,
    /// How long a recovery waits before it completes, hours.
    pub delay_hours: u64,
}

/// A recovery under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingRecovery {
    /// When it was started.
    pub started_at: Timestamp,
    /// When it may be completed, unless cancelled first.
    pub completes_at: Timestamp,
}

/// Starts a recovery: the account's password and one unused recovery code.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartRecovery {
    /// The username.
    pub username: String,
    /// The account's password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: SecretString,
    /// One recovery code (spent even if the recovery is later cancelled).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub code: SecretString,
}

/// A recovery started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryStarted {
    /// The secret that completes it (`kw_rec_…`, shown once): keep it.
    pub token: String,
    /// From when it may be completed, unless one of the account's keys
    /// cancels it first.
    pub completes_at: Timestamp,
}

/// Completes a due recovery.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompleteRecovery {
    /// The token from the start.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub token: SecretString,
    /// The account's password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: SecretString,
}

/// A completed recovery: the session may now enrol a new first key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCompleted {
    /// Keys removed (all of them).
    pub keys_removed: u64,
    /// Sessions ended (all of them).
    pub sessions_ended: u64,
    /// API keys revoked (all of them).
    pub api_keys_revoked: u64,
    /// Withdrawals are held until then.
    pub withdrawals_held_until: Timestamp,
}

/// A cancelled recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCancelled {
    /// Always true.
    pub cancelled: bool,
}
