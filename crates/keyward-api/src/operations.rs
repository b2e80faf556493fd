//! Health and the keys of approval tokens.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Liveness or readiness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` (live) or `ready`.
    pub status: String,
    /// `sqlite` or `postgres` (readiness only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub database: Option<String>,
}

/// A JSON Web Key Set (Ed25519 `OKP` keys with `kid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwks {
    /// The keys.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub keys: Vec<Value>,
}
