//! The claims of an approval token (an EdDSA JWT signed by Keyward when a
//! user approves a step-up with a key; keys at `/.well-known/jwks.json`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an approval token says. A service checks the signature against
/// Keyward's JWKS, then `aud`, `exp`, and that `details_digest` is the
/// digest of what it is about to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalClaims {
    /// The step-up (approval request) this token answers. JSON `sid`.
    #[serde(rename = "sid")]
    pub step_up_id: Uuid,
    /// The user id. JSON `sub`.
    pub sub: String,
    /// The approved action, e.g. `withdrawal`.
    pub action: String,
    /// Lower-case hex SHA-256 of the canonical JSON of `{"action": …,
    /// "details": …}` (keys sorted, no whitespace) — the action and its
    /// details together, the same as the step-up's `digest` — so the
    /// approval cannot be moved to other details or another action.
    pub details_digest: String,
    /// The WebAuthn credential id that signed the assertion, base64url.
    /// JSON `cred_id`.
    #[serde(rename = "cred_id")]
    pub credential_id: String,
    /// The authenticator model, when attested; omitted if none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<Uuid>,
    /// Whether the authenticator verified the user (PIN or biometric).
    pub uv: bool,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds; the token is refused from this second on.
    pub exp: i64,
    /// Unique token id, for single use on the service's side.
    pub jti: Uuid,
    /// Issuer (this Keyward deployment's origin).
    pub iss: String,
    /// The audience, `keyward-step-up` (a string).
    pub aud: String,
    /// The hash of the user's key-chain head when the key approved (see
    /// the approval's evidence); omitted when the user had no chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_head: Option<String>,
}
