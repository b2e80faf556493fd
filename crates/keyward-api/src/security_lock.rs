//! The user's security lock: 0–30 days during which changes that loosen
//! protection (a new allow-list address, a withdraw-scoped API key,
//! unfreezing, removing a key, a shorter lock) take effect only after the
//! lock period and can be cancelled with a key until then; changes that
//! tighten take effect at once.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The lock the user asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetSecurityLock {
    /// Days, 0 (no lock) to 30. Longer than the lock in force: at once.
    /// Shorter: from when the lock in force has passed.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 30, example = 7))]
    pub days: u32,
}

/// Where the user's lock stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityLockView {
    /// Days in force now (0: no lock).
    pub days: u32,
    /// A shorter lock asked for, waiting; cancel it with a key.
    pub pending: Option<PendingLock>,
    /// Changes that loosen protection, asked now, take effect from here.
    pub loosening_from: Timestamp,
    /// The longest lock, days.
    pub max_days: u32,
}

/// A shorter lock, waiting for the one in force to pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingLock {
    /// The days it will be.
    pub days: u32,
    /// In force from.
    pub from: Timestamp,
}

/// A key removal the lock delays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledRemoval {
    /// The key.
    pub key_id: uuid::Uuid,
    /// From when the removal can be finished (with a key touch); cancel it
    /// with a key before.
    pub removable_from: Timestamp,
}
