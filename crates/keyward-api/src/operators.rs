//! Operator actions under the two-person rule: an action that loosens
//! protection (lifting the global withdrawal freeze, unlocking an account,
//! an operator-assisted recovery) is a request that a second operator —
//! another admin service key, by another name — approves within a window,
//! or it expires. Tightening actions (freeze, lock) stay immediate.

use serde::{Deserialize, Serialize};
use strum::{EnumString, IntoStaticStr};
use uuid::Uuid;

use crate::Timestamp;

/// Why an operator asks for an action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorReason {
    /// 1-200 characters: kept in the audit log and shown to the second
    /// operator.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"\S",
            example = "ticket 4711: identity proved by video call"
        )
    )]
    pub reason: String,
}

/// An action that needs a second operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumString, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OperatorAction {
    /// Lift the freeze of all withdrawals.
    GlobalUnfreeze,
    /// Lift an account's operator lock and clear its throttling.
    UserUnlock,
    /// Start a recovery for a user with neither keys nor recovery codes,
    /// after the exchange proved who they are: the same delay (which any
    /// of the account's keys can cancel) and hold as a recovery the user
    /// starts.
    AssistedRecovery,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumString, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OperatorRequestStatus {
    /// Waiting for a second operator until `expires_at`.
    Pending,
    /// A second operator approved it and it was carried out.
    Approved,
    /// An operator cancelled it.
    Cancelled,
    /// Nobody approved it in time.
    Expired,
}

crate::wire_names!(OperatorAction);
crate::wire_names!(OperatorRequestStatus);

/// A request for an action that needs a second operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorRequest {
    /// Its id.
    pub id: Uuid,
    /// What is asked for.
    pub action: OperatorAction,
    /// The account it is about; none for the global freeze.
    pub username: Option<String>,
    /// The first operator's reason.
    pub reason: String,
    /// The name of the first operator's admin key.
    pub requested_by: String,
    /// When it was asked for.
    pub requested_at: Timestamp,
    /// When it lapses unless approved.
    pub expires_at: Timestamp,
    /// Where it stands.
    pub status: OperatorRequestStatus,
    /// The name of the operator's key that approved or cancelled it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
}

/// Requests pending, and those of the last seven days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorRequestList {
    /// Newest first.
    pub requests: Vec<OperatorRequest>,
}

/// An approved request and what carrying it out produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorDecision {
    /// The request, now approved or cancelled.
    pub request: OperatorRequest,
    /// For an approved assisted recovery: the token to hand to the user
    /// over the channel the exchange verified (shown once). With it and
    /// their password the user completes the recovery from `completes_at`.
    pub recovery: Option<AssistedRecovery>,
}

/// An operator-assisted recovery under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssistedRecovery {
    /// The completion token (`kw_rec_…`), shown once.
    pub token: String,
    /// When it can be completed, unless one of the account's keys cancels
    /// it first.
    pub completes_at: Timestamp,
}
