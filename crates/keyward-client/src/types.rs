//! Typed request and response bodies of the Keyward service API.
//!
//! Instants are kept as the RFC 3339 strings Keyward sends (UTC), so the
//! client does not impose a date-time library on the exchange.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Where a step-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// A status this version of the client does not know.
    #[serde(other)]
    Unknown,
}

/// A step-up: a sensitive action waiting for (or past) a key approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepUp {
    /// Step-up id.
    pub id: Uuid,
    /// Whose approval.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// `withdrawal`, `address.add` or `api_key.create`.
    #[serde(default)]
    pub action: Option<String>,
    /// The canonical details the key approves.
    #[serde(default)]
    pub details: Value,
    /// Where it stands.
    pub status: StepUpStatus,
    /// SHA-256 of the canonical details (hex): what the approval token and
    /// the redeem response must carry.
    pub digest: String,
    /// End of the approval window (RFC 3339).
    pub expires_at: String,
    /// The hosted confirmation page to send the user to.
    pub confirm_url: String,
    /// Why held or denied (`withdrawals_frozen`, `account_frozen`, `held`,
    /// `address_not_allowed`, `address_cooling_off`, `daily_limit_exceeded`).
    #[serde(default)]
    pub reason: Option<String>,
    /// When a hold ends (RFC 3339).
    #[serde(default)]
    pub held_until: Option<String>,
    /// When approved (RFC 3339).
    #[serde(default)]
    pub approved_at: Option<String>,
    /// Until when the approval may be redeemed (RFC 3339).
    #[serde(default)]
    pub approval_expires_at: Option<String>,
    /// When redeemed (RFC 3339).
    #[serde(default)]
    pub redeemed_at: Option<String>,
}

/// A redeemed approval: exactly what the user approved, returned once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redeemed {
    /// Step-up id.
    pub id: Uuid,
    /// Whose approval.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// The approved action.
    #[serde(default)]
    pub action: Option<String>,
    /// The approved canonical details (asset, network, amount, destination, ...).
    pub details: Value,
    /// SHA-256 of the details (hex); compare it with what you are about to pay.
    pub digest: String,
    /// Now `redeemed`.
    pub status: StepUpStatus,
    /// When approved (RFC 3339).
    #[serde(default)]
    pub approved_at: Option<String>,
    /// When redeemed (RFC 3339).
    #[serde(default)]
    pub redeemed_at: Option<String>,
    /// Whether the user verified (PIN/biometric).
    #[serde(default)]
    pub user_verified: Option<bool>,
    /// The security key that approved.
    #[serde(default)]
    pub credential_key_id: Option<Uuid>,
}

/// A user API key that is good for the requested scope and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedKey {
    /// The key's owner.
    pub user_id: Uuid,
    /// The key.
    pub key_id: Uuid,
    /// Its scopes (`read`, `trade`, `withdraw`).
    pub scopes: Vec<String>,
    /// Its expiry (RFC 3339), if any.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// Why Keyward refused a user API key (`api-key-refused` `reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyRefusal {
    /// Not shaped like a Keyward API key.
    Malformed,
    /// No such key.
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// The key lacks the requested scope.
    ScopeNotGranted,
    /// The client address is not on the key's allow-list.
    IpNotAllowed,
    /// The owner's withdrawals are frozen (or the account is locked).
    UserFrozen,
    /// `withdraw` scope while the operator has frozen all withdrawals.
    WithdrawalsFrozen,
    /// `withdraw` scope while the owner's withdrawals are held.
    Held,
    /// A reason this version of the client does not know.
    Other(String),
}

impl ApiKeyRefusal {
    /// Parses Keyward's reason code.
    pub fn from_code(code: &str) -> Self {
        match code {
            "malformed" => Self::Malformed,
            "unknown" => Self::Unknown,
            "revoked" => Self::Revoked,
            "expired" => Self::Expired,
            "scope_not_granted" => Self::ScopeNotGranted,
            "ip_not_allowed" => Self::IpNotAllowed,
            "user_frozen" => Self::UserFrozen,
            "withdrawals_frozen" => Self::WithdrawalsFrozen,
            "held" => Self::Held,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Keyward's reason code.
    pub fn code(&self) -> &str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::ScopeNotGranted => "scope_not_granted",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::UserFrozen => "user_frozen",
            Self::WithdrawalsFrozen => "withdrawals_frozen",
            Self::Held => "held",
            Self::Other(code) => code,
        }
    }
}

impl std::fmt::Display for ApiKeyRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// `POST /v1/step-ups` body.
#[derive(Debug, Serialize)]
pub(crate) struct CreateStepUp<'a> {
    pub user: &'a str,
    pub action: &'a str,
    pub details: &'a Value,
}

/// `POST /v1/api-keys/verify` body.
#[derive(Serialize)]
pub(crate) struct VerifyApiKey<'a> {
    pub key: &'a str,
    pub scope: &'a str,
    pub client_ip: &'a str,
}
