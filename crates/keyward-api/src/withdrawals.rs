//! Withdrawal controls: the user's own freeze and address allow-list, and
//! the operator's freeze of all withdrawals.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{PolicyReason, Timestamp};

/// The user's withdrawal state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WithdrawalStatus {
    /// Self-frozen.
    pub frozen: bool,
    /// Since when.
    pub frozen_at: Option<Timestamp>,
    /// Withdrawals held until (after a security change).
    pub held_until: Option<Timestamp>,
    /// Why they are held.
    pub hold_reason: Option<PolicyReason>,
}

/// An address to allow-list (approved with a key, then cooling off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAddress {
    /// Network, e.g. `bitcoin` (one the exchange configured).
    #[cfg_attr(feature = "openapi", schema(example = "bitcoin"))]
    pub network: String,
    /// The address, valid for the network.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")
    )]
    pub address: String,
    /// Memo / destination tag, for networks that use one.
    #[serde(default)]
    pub memo: Option<String>,
    /// The user's label.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub label: Option<String>,
}

/// An allow-listed withdrawal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    /// Entry id.
    pub id: Uuid,
    /// Network, e.g. `bitcoin`.
    pub network: String,
    /// The address.
    pub address: String,
    /// Memo / destination tag a withdrawal to it must carry, if any.
    pub memo: Option<String>,
    /// The user's label (the address itself when none was given).
    pub label: String,
    /// When approved.
    pub created_at: Timestamp,
    /// End of the cooling-off.
    pub usable_from: Timestamp,
    /// Past the cooling-off.
    pub usable: bool,
}

/// The allow-list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressList {
    /// Entries.
    pub addresses: Vec<Address>,
}

/// The operator's reason for freezing all withdrawals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreezeRequest {
    /// 1-200 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"\S",
            example = "incident 42"
        )
    )]
    pub reason: String,
}

/// The operator's freeze.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GlobalFreeze {
    /// Withdrawals frozen for everyone.
    pub frozen: bool,
    /// The operator's reason.
    pub reason: Option<String>,
    /// Last change.
    pub changed_at: Timestamp,
}
