//! User API keys: creating them (after a key approval), listing, revoking,
//! and the gateway's verification of a presented key.

use serde::{Deserialize, Serialize};
use strum::{EnumIter, EnumString, IntoStaticStr};
use uuid::Uuid;

use crate::Timestamp;

/// The details of a user API key, approved with a security key
/// (`POST /v1/api-keys/step-up`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyDetails {
    /// The user's label, 1-64 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
            example = "trading bot"
        )
    )]
    pub label: String,
    /// Some of `read`, `trade`, `withdraw`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ApiKeyScope>, min_items = 1, example = json!(["read", "trade"])))]
    pub scopes: Vec<String>,
    /// Addresses or networks the key may be used from, at most 32 (required
    /// for `withdraw`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::schemas::IpNetwork>, max_items = 32, example = json!(["203.0.113.7", "2001:db8::/48"])))]
    pub ip_allowlist: Vec<String>,
    /// Lifetime in days (at most the server's maximum).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<u32>,
}

/// Creating a key: the approved step-up and exactly the approved details
/// (the members of [`ApiKeyDetails`] beside `step_up_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreate {
    /// The approved `api_key.create` step-up.
    pub step_up_id: Uuid,
    /// Exactly the approved label.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
            example = "trading bot"
        )
    )]
    pub label: String,
    /// Exactly the approved scopes.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ApiKeyScope>, min_items = 1))]
    pub scopes: Vec<String>,
    /// Exactly the approved allow-list.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::schemas::IpNetwork>, max_items = 32))]
    pub ip_allowlist: Vec<String>,
    /// Exactly the approved lifetime.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<u32>,
}

/// What a user API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApiKeyScope {
    /// Read balances and orders.
    Read,
    /// Place and cancel orders.
    Trade,
    /// Withdraw (needs an IP allow-list; each use is audited).
    Withdraw,
}

crate::wire_names!(ApiKeyScope);

/// A user API key (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret: shown once, never stored.
    pub secret: String,
}

/// The user's API keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyList {
    /// Keys, live and revoked.
    pub api_keys: Vec<ApiKey>,
}

/// Keys revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revoked {
    /// How many.
    pub revoked: u64,
}

/// `POST /v1/api-keys/verify`: may this key do `scope` from `client_ip`?
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyApiKey {
    /// The presented key, `kw_api_…`.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub key: String,
    /// The scope the request needs: `read`, `trade` or `withdraw`.
    #[cfg_attr(feature = "openapi", schema(value_type = ApiKeyScope))]
    pub scope: String,
    /// The end user's address, IPv4 or IPv6.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schemas::IpAddress, example = "203.0.113.7"))]
    pub client_ip: String,
}

/// A verified API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifiedKey {
    /// The key's owner.
    pub user_id: Uuid,
    /// The key.
    pub key_id: Uuid,
    /// Its scopes (`read`, `trade`, `withdraw`).
    pub scopes: Vec<String>,
    /// Its expiry, if any.
    pub expires_at: Option<Timestamp>,
}

/// Why Keyward refused a user API key (the `reason` of `api-key-refused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ApiKeyRefusal {
    /// Not shaped like a Keyward API key (prefix, length, alphabet, checksum).
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
    /// A reason this version does not know (never sent by this version).
    #[serde(other)]
    #[strum(disabled)]
    Other,
}

crate::wire_names!(ApiKeyRefusal, unknown = Other);
