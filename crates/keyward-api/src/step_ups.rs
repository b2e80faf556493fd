//! Step-ups: a sensitive action waiting for (or past) a key approval.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use strum::{EnumIter, EnumString, IntoStaticStr};
use uuid::Uuid;

use crate::Timestamp;

/// Where a step-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum StepUpStatus {
    /// Waiting for the user's key.
    Pending,
    /// Refused for now by a hold (see `held_until` and `reason`).
    Held,
    /// Refused by policy (see `reason`).
    Denied,
    /// Approved with the key; may be redeemed once.
    Approved,
    /// Redeemed.
    Redeemed,
    /// Not approved (or not redeemed) in time.
    Expired,
    /// Approved, but the policy refused it at redeem (see `reason`).
    Refused,
    /// The user declined it on the confirmation page.
    Declined,
    /// A status this version does not know (never sent by this version).
    #[serde(other)]
    #[strum(disabled)]
    Unknown,
}

crate::wire_names!(StepUpStatus, unknown = Unknown);

/// Why a step-up is held, denied or refused, or why withdrawals are held
/// (`reason`, `hold_reason`, and the `reason` of a `policy-refused` problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum PolicyReason {
    /// The user froze their account.
    AccountFrozen,
    /// The operator froze all withdrawals.
    WithdrawalsFrozen,
    /// The policy could not be evaluated: nothing is approved (fail closed).
    PolicyUnavailable,
    /// The destination is not on the user's allow-list.
    AddressNotAllowed,
    /// The destination was allow-listed recently and is still cooling off.
    AddressCoolingOff,
    /// Over the user's daily limit for the asset.
    DailyLimitExceeded,
    /// The stored details no longer validate.
    DetailsInvalid,
    /// Hold: a security key was added.
    KeyAdded,
    /// Hold: a security key was removed.
    KeyRemoved,
    /// Hold: the password was changed.
    PasswordChanged,
    /// Hold: an API key that may withdraw was created.
    ApiKeyWithdraw,
    /// Hold: the account was unfrozen.
    Unfrozen,
    /// Hold: the account was recovered (its keys lost and replaced).
    Recovered,
    /// Hold: a security change without a recorded reason.
    SecurityChange,
    /// Risk: a browser new to the account (see `reasons`).
    NewDevice,
    /// Risk: a network new to the account.
    NewNetwork,
    /// Risk: a country new to the account.
    NewCountry,
    /// Risk: an autonomous system new to the account.
    NewAsn,
    /// Risk: impossibly fast travel since the previous sign-in.
    ImpossibleTravel,
    /// Risk: too many withdrawals, or too much, too quickly.
    WithdrawalVelocity,
    /// Risk: a recent security change.
    RecentSecurityChange,
    /// Risk: approved with a newly enrolled key.
    NewKey,
    /// A reason this version does not know (never sent by this version).
    #[serde(other)]
    #[strum(disabled)]
    Unknown,
}

crate::wire_names!(PolicyReason, unknown = Unknown);

impl PolicyReason {
    /// Parses a stored reason, also in the `held:<reason>` form earlier
    /// versions stored for a refusal at redeem.
    pub fn parse_stored(s: &str) -> Self {
        Self::parse(s.strip_prefix("held:").unwrap_or(s))
    }

    /// True for the reasons that hold withdrawals for a while after a
    /// security change (rather than refuse them).
    pub fn is_hold(self) -> bool {
        matches!(
            self,
            Self::KeyAdded
                | Self::KeyRemoved
                | Self::PasswordChanged
                | Self::ApiKeyWithdraw
                | Self::Unfrozen
                | Self::Recovered
                | Self::SecurityChange
        )
    }

    /// True for the reasons that name a risk signal.
    pub fn is_risk(self) -> bool {
        matches!(
            self,
            Self::NewDevice
                | Self::NewNetwork
                | Self::NewCountry
                | Self::NewAsn
                | Self::ImpossibleTravel
                | Self::WithdrawalVelocity
                | Self::RecentSecurityChange
                | Self::NewKey
        )
    }
}

impl From<crate::risk::RiskSignal> for PolicyReason {
    fn from(signal: crate::risk::RiskSignal) -> Self {
        Self::parse(signal.as_str())
    }
}

#[cfg(feature = "openapi")]
crate::string_enum_schema!(
    StepUpStatus,
    StepUpStatus::all().map(StepUpStatus::as_str),
    "Where a step-up stands: `pending` (waiting for the key), `held` or `denied` (see `reason`), `approved` (redeemable once), `redeemed`, `expired`, or `refused` (the policy refused at redeem; see `reason`)."
);

#[cfg(feature = "openapi")]
crate::string_enum_schema!(
    PolicyReason,
    PolicyReason::all().map(PolicyReason::as_str),
    "Why a step-up is held, denied or refused, or why withdrawals are held."
);

/// `POST /v1/step-ups`: a step-up request from the exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateStepUp {
    /// User id or username.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, example = "alice")
    )]
    pub user: String,
    /// `withdrawal`, the only action a service may ask for (allow-list
    /// additions and API keys are the user's own).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "withdrawal", pattern = "^withdrawal$")
    )]
    pub action: String,
    /// For `withdrawal`: `{asset, network, amount, destination, memo?,
    /// client_reference}` (amount a decimal string).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schemas::WithdrawalDetails))]
    pub details: Value,
}

/// A step-up: a sensitive action waiting for (or past) a key approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUp {
    /// Step-up id.
    pub id: Uuid,
    /// Whose approval.
    pub user_id: Uuid,
    /// `withdrawal`, `address.add` or `api_key.create`.
    pub action: String,
    /// The canonical details the key approves.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: Value,
    /// Lower-case hex SHA-256 of the canonical JSON of
    /// `{"action": action, "details": details}` (keys sorted, no
    /// whitespace): the action and the details together. Approval tokens
    /// carry the same value as `details_digest`.
    pub digest: String,
    /// Where it stands.
    pub status: StepUpStatus,
    /// Why held, denied or refused.
    pub reason: Option<PolicyReason>,
    /// When a hold ends.
    pub held_until: Option<Timestamp>,
    /// The risk signals that fired for this step-up (at creation and
    /// approval), each with its effect: why it is held or denied, or what
    /// the exchange was told.
    #[serde(default)]
    pub reasons: Vec<crate::risk::RiskReason>,
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
    /// The hosted confirmation page to send the user to.
    pub confirm_url: String,
}

/// A step-up the user must approve with a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpAccepted {
    /// The `pending` step-up.
    pub step_up: StepUp,
}

/// What the confirmation page shows before the touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpSummary {
    /// The step-up.
    pub step_up: StepUp,
    /// The user's phrase.
    pub anti_phishing_phrase: Option<String>,
    /// Seconds left to approve.
    pub seconds_left: i64,
    /// For a withdrawal held back by the daily limit (`reason`
    /// `daily_limit_exceeded`): the limit as it stands now. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_limit: Option<DailyLimitLeft>,
}

/// The user's daily withdrawal limit for one asset as it stands now. The
/// limit covers any 24 hours: a withdrawal counts against it until 24 hours
/// after the exchange carried it out. Amounts are decimal strings, like a
/// withdrawal's `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyLimitLeft {
    /// The asset.
    #[cfg_attr(feature = "openapi", schema(example = "BTC"))]
    pub asset: String,
    /// The limit over any 24 hours.
    #[cfg_attr(feature = "openapi", schema(example = "10"))]
    pub limit: String,
    /// Withdrawn (redeemed) in the last 24 hours.
    #[cfg_attr(feature = "openapi", schema(example = "6"))]
    pub used: String,
    /// What may still be withdrawn now: `limit` − `used`, never below zero.
    #[cfg_attr(feature = "openapi", schema(example = "4"))]
    pub left: String,
    /// When this request's amount would fit, as earlier withdrawals stop
    /// counting (the exchange must then ask again: a refused request stays
    /// refused). Absent when it never fits: it is over the limit by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fits_from: Option<Timestamp>,
}

/// Step-up options: the ceremony plus the step-up being approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpOptions {
    /// Ceremony id, single use.
    pub ceremony: Uuid,
    /// WebAuthn request options; the challenge commits to the details.
    #[serde(rename = "publicKey")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: Value,
    /// The step-up.
    pub step_up: StepUp,
}

/// An approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approved {
    /// Step-up id.
    pub id: Uuid,
    /// Always `approved`.
    pub status: StepUpStatus,
    /// EdDSA JWT (keys at `/.well-known/jwks.json`).
    pub approval: String,
    /// Redeem before this.
    pub approval_expires_at: Timestamp,
    /// The raw evidence of the approval, checkable without trusting Keyward.
    pub evidence: ApprovalEvidence,
}

/// The raw evidence of an approval (defined with its checks in
/// `keyward-proof`, which an exchange runs to verify it).
pub use keyward_proof::ApprovalEvidence;

/// A redeemed approval: the step-up with what the key proved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Redeemed {
    /// The step-up, now `redeemed`.
    #[serde(flatten)]
    pub step_up: StepUp,
    /// Whether the user verified (PIN/biometric).
    pub user_verified: Option<bool>,
    /// The key that approved.
    pub credential_key_id: Option<Uuid>,
    /// The raw evidence of the approval (see [`ApprovalEvidence`]).
    pub evidence: Option<ApprovalEvidence>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_keys::ApiKeyRefusal;

    #[test]
    fn statuses_and_reasons_use_their_wire_names() {
        assert_eq!(StepUpStatus::parse("refused"), StepUpStatus::Refused);
        assert_eq!(StepUpStatus::parse("later"), StepUpStatus::Unknown);
        assert_eq!(
            serde_json::to_value(StepUpStatus::Pending).ok(),
            Some(Value::from("pending"))
        );
        assert_eq!(
            PolicyReason::parse_stored("held:key_added"),
            PolicyReason::KeyAdded
        );
        assert_eq!(PolicyReason::parse("held:key_added"), PolicyReason::Unknown);
        assert_eq!(
            ApiKeyRefusal::parse("ip_not_allowed").to_string(),
            "ip_not_allowed"
        );
        assert!(PolicyReason::all().all(|r| r != PolicyReason::Unknown));
        assert_eq!(
            PolicyReason::DailyLimitExceeded.as_str(),
            "daily_limit_exceeded"
        );
        assert_eq!(
            serde_json::from_value::<PolicyReason>(Value::from("new_rule")).ok(),
            Some(PolicyReason::Unknown)
        );
    }
}
