//! Security events out: every security-relevant change (a key added or
//! removed, a recovery, a freeze, an address, an API key, an approval, …)
//! as a Security Event Token (RFC 8417), signed with the approval-signing
//! keys (the JWKS at `/.well-known/jwks.json`, `typ` `secevent+jwt`).
//! Pushed to the operator's webhook endpoints (RFC 8935: a POST of
//! `application/secevent+jwt`, at least once, in order) and readable by
//! polling `GET /v1/events?after=<seq>`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The prefix of Keyward's own event types: `<prefix><audit event name>`,
/// e.g. `https://keyward.dev/secevent/key.enrolled`.
pub const KEYWARD_EVENT: &str = "https://keyward.dev/secevent/";
/// CAEP credential change (a key or the password added, removed, changed).
pub const CAEP_CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// CAEP session revoked.
pub const CAEP_SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP risk level change (a risk decision at a sign-in or step-up).
pub const CAEP_RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
/// RISC account disabled (locked).
pub const RISC_ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
/// RISC account enabled (unlocked).
pub const RISC_ACCOUNT_ENABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-enabled";

/// The claims of one Security Event Token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityEventClaims {
    /// Keyward's issuer (as in approval tokens).
    pub iss: String,
    /// The endpoint's audience (webhook), or the polling service key's name.
    pub aud: String,
    /// When the token was made (Unix seconds).
    pub iat: i64,
    /// The event's id: the same however often it is delivered (de-duplicate
    /// on it).
    pub jti: String,
    /// When the event happened (Unix seconds).
    pub toe: i64,
    /// Whom it is about: `{"format": "opaque", "id": <user id>}`, or
    /// Keyward itself for operator events.
    pub sub_id: SubjectId,
    /// The event, keyed by type URI: Keyward's own type
    /// ([`KEYWARD_EVENT`]) always, with a CAEP or RISC type beside it where
    /// one fits.
    pub events: Map<String, Value>,
    /// The event's position in Keyward's log: strictly increasing, so a
    /// receiver can check order and resume polling after it.
    pub keyward_seq: i64,
}

/// An RFC 9493 subject identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectId {
    /// `opaque`.
    pub format: String,
    /// The user's id, or `keyward` for events about no user.
    pub id: String,
}

/// Events after a cursor (`GET /v1/events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    /// Oldest first.
    pub events: Vec<PolledEvent>,
    /// Pass as `after` to read on (the last position read, even when no
    /// security event was among the entries read).
    pub next: i64,
    /// The log's last position when the page was read. A reader that only
    /// cares about what happens from now on (e.g. before asking for a
    /// step-up it will wait for) starts here instead of reading the whole
    /// log. Entries are appended one at a time, so nothing can later appear
    /// at or before it. Absent (0) from servers that predate it.
    #[serde(default)]
    pub head: i64,
}

/// One event, as polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolledEvent {
    /// Its position (`keyward_seq`).
    pub seq: i64,
    /// Its id (`jti`).
    pub jti: String,
    /// The signed Security Event Token.
    pub set: String,
}
