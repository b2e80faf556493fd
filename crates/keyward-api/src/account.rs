//! Accounts: sign-up, the two sign-in steps, the session, the password, the
//! user's sessions, security activity and settings.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::Timestamp;

/// A username and password (sign-up and the first sign-in step).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// 3-32 characters: letters, digits, `.`, `_`, `-`, starting with a
    /// letter or digit (stored in lower case).
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 3,
            max_length = 32,
            pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$",
            example = "alice"
        )
    )]
    pub username: String,
    /// The password: 12-256 characters (a shorter one never signs in).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 12, max_length = 256))]
    pub password: SecretString,
}

/// Options for a passkey sign-in: pass `publicKey` to
/// `navigator.credentials.get` (with `mediation: "conditional"` for the
/// username field's autofill, or without for a button), then send the
/// answer back with `ceremony`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyOptions {
    /// The ceremony handle, single use, valid for the ceremony lifetime.
    pub ceremony: String,
    /// `PublicKeyCredentialRequestOptionsJSON` with an empty allow-list.
    #[serde(rename = "publicKey")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: Value,
    /// Whether this deployment still asks for the password with a passkey.
    pub password_required: bool,
}

/// A passkey's answer, with the password where the deployment asks for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyAnswer {
    /// The handle from the options.
    pub ceremony: String,
    /// The `PublicKeyCredential` as JSON (WebAuthn L3 `toJSON()`), with
    /// its `userHandle`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schemas::AssertionCredential))]
    pub credential: Value,
    /// The account's password, when `password_required`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    #[serde(default)]
    pub password: Option<SecretString>,
}

/// A password change (needs a fresh key assertion).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    /// The current password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub current_password: SecretString,
    /// The new password, 12-256 characters.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, min_length = 12, max_length = 256))]
    pub new_password: SecretString,
}

/// What to do after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Next {
    /// Answer a key challenge.
    Key,
    /// No key yet: enrol one.
    EnrolKey,
}

/// The step after the password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextStep {
    /// What to do next.
    pub next: Next,
}

/// A new account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedUp {
    /// The new user.
    pub user_id: Uuid,
    /// Always `enrol_key`.
    pub next: Next,
}

/// Signed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedIn {
    /// Always `true`.
    pub signed_in: bool,
    /// The user.
    pub user_id: Uuid,
}

/// How far a browser session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Stage {
    /// Nobody.
    Anonymous,
    /// Password accepted; the key step follows.
    Password,
    /// A new account (or one without keys) enrolling its first key.
    Enrolling,
    /// Signed in with password and key.
    SignedIn,
    /// A sign-in or first enrolment left longer than a ceremony lives:
    /// start again with the password.
    Expired,
}

/// The session's stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// Where the session stands.
    pub stage: Stage,
    /// The user, once the password was accepted.
    pub user_id: Option<Uuid>,
    /// The username, once the password was accepted.
    pub username: Option<String>,
    /// How long withdrawals are held after a security change (a key added
    /// or removed, the password changed, an unfreeze), in hours, so pages
    /// can say so before the person acts.
    pub security_hold_hours: u64,
    /// The signed-in user's security lock in force, in days (0 otherwise):
    /// a change that loosens protection waits at least this long.
    #[serde(default)]
    pub security_lock_days: u32,
}

/// A password change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChanged {
    /// Always `true`.
    pub changed: bool,
    /// How many other sessions were ended.
    pub sessions_ended: u64,
    /// How many API keys were revoked (all of the user's).
    pub api_keys_revoked: u64,
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// Login id.
    pub id: Uuid,
    /// When signed in.
    pub created_at: Timestamp,
    /// Last request.
    pub last_seen_at: Timestamp,
    /// When it ends unless used.
    pub expires_at: Timestamp,
    /// Client address at sign-in.
    pub ip: String,
    /// Client user agent at sign-in.
    pub user_agent: String,
    /// This request's session.
    pub current: bool,
}

/// The user's sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    /// Active sessions.
    pub sessions: Vec<SessionView>,
}

/// A security event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Sequence number (global, increasing).
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// Event name, e.g. `signin.succeeded`.
    pub event: String,
    /// Event details.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
    /// Client address.
    pub ip: Option<String>,
}

/// The user's security activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEvent>,
}

/// The anti-phishing phrase to set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    /// 4-64 characters without control characters; shown on the
    /// confirmation page, so a copied page gives itself away.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 4,
            max_length = 64,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$",
            example = "purple otter"
        )
    )]
    pub anti_phishing_phrase: String,
}

/// The user's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsView {
    /// Shown on the confirmation page, so a copied page gives itself away.
    pub anti_phishing_phrase: Option<String>,
}
