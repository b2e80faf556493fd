//! Risk signals: what Keyward noticed about a sign-in or a step-up, and
//! what the operator configured each to do. A step-up and the activity log
//! carry the signals that fired as `reasons`, so the exchange and the user
//! see why a decision is what it is.

use serde::{Deserialize, Serialize};
use strum::{EnumIter, EnumString, IntoStaticStr};

/// One kind of risk signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum RiskSignal {
    /// A browser that never signed in to this account (by its device cookie).
    NewDevice,
    /// A network (IPv4 /24, IPv6 /48) this account never signed in from.
    NewNetwork,
    /// A country this account never signed in from (needs a GeoIP database).
    NewCountry,
    /// An autonomous system (ASN) this account never signed in from.
    NewAsn,
    /// Faster than an airliner from the previous sign-in's place.
    ImpossibleTravel,
    /// More withdrawals, or more of an asset, in an hour or a day than set.
    WithdrawalVelocity,
    /// A security change (key, password, recovery, unfreeze, API key) lately.
    RecentSecurityChange,
    /// Approved with a key enrolled only days ago.
    NewKey,
    /// A signal this version does not know (never sent by this version).
    #[serde(other)]
    #[strum(disabled)]
    Unknown,
}

crate::wire_names!(RiskSignal, unknown = Unknown);

/// What a signal does when it fires, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum RiskEffect {
    /// Recorded only.
    None,
    /// Recorded and sent to the exchange as a security event.
    Notify,
    /// The key must verify its user (PIN or biometric).
    RequireUv,
    /// Withdrawals are held for a while (`hold_hours`).
    Hold,
    /// Refused.
    Deny,
    /// An effect this version does not know (never sent by this version).
    #[serde(other)]
    #[strum(disabled)]
    Unknown,
}

crate::wire_names!(RiskEffect, unknown = Unknown);

#[cfg(feature = "openapi")]
crate::string_enum_schema!(
    RiskSignal,
    RiskSignal::all().map(RiskSignal::as_str),
    "A risk signal: `new_device`, `new_network`, `new_country`, `new_asn`, `impossible_travel`, `withdrawal_velocity`, `recent_security_change` or `new_key`."
);

#[cfg(feature = "openapi")]
crate::string_enum_schema!(
    RiskEffect,
    RiskEffect::all().map(RiskEffect::as_str),
    "What a fired signal did: `none` (recorded), `notify` (a security event), `require_uv`, `hold` (for `hold_hours`) or `deny`."
);

/// A signal that fired, with the effect it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskReason {
    /// What was noticed.
    pub signal: RiskSignal,
    /// What it did.
    pub effect: RiskEffect,
    /// For `hold`: how long, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_hours: Option<u32>,
    /// Plain facts behind it, e.g. `DE`, `AS64500`, `2100 km/h`, `6 in an hour`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
