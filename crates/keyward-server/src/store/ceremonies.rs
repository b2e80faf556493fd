//! In-flight WebAuthn ceremonies. A ceremony is taken (deleted and returned
//! in one statement) before its response is verified, so it is single-use
//! even under concurrent submissions on several instances.

use uuid::Uuid;

use crate::clock::Millis;
use crate::db::Db;
use crate::db::relaxed;

/// What a ceremony is for; a ceremony of one purpose cannot serve another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Enrolling a security key.
    Register,
    /// Second step of sign-in.
    SignIn,
    /// Fresh assertion for a sensitive change.
    Reauth,
    /// Approving one step-up (the ceremony's subject).
    StepUp,
    /// Endorsing a change of the user's key chain (a key added or removed).
    Endorse,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign_in",
            Self::Reauth => "reauth",
            Self::StepUp => "step_up",
            Self::Endorse => "endorse",
        }
    }
}

/// A ceremony to store.
#[derive(Debug, Clone)]
pub struct NewCeremony<'a> {
    /// Ceremony id.
    pub id: Uuid,
    /// The only user who may answer it.
    pub user_id: Uuid,
    /// The only purpose it serves.
    pub purpose: Purpose,
    /// What it is about (a step-up id), if anything.
    pub subject: Option<Uuid>,
    /// Serialised webauthn-rs state.
    pub state: &'a str,
}

/// Stores a new ceremony's state. Relaxed: a challenge lost in a power cut
/// only means the user asks for another.
pub async fn insert(
    db: &Db,
    c: &NewCeremony<'_>,
    now: Millis,
    expires_at: Millis,
) -> Result<(), sqlx::Error> {
    let row = c;
    relaxed!(db, c => sqlx::query(
        "INSERT INTO ceremonies (id, user_id, purpose, subject, state, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)")
        .bind(row.id).bind(row.user_id).bind(row.purpose.as_str()).bind(row.subject).bind(row.state).bind(now).bind(expires_at)
        .execute(c).await.map(|_| ()))
}

/// Atomically removes and returns the ceremony `id` if it belongs to
/// `user_id`, `purpose` and `subject`: `(state, expires_at)`. A second call
/// returns `None`; so does a ceremony of another user, purpose or subject.
///
/// Relaxed: taking it is not on disk when this returns. That is safe because
/// nothing is acknowledged on the strength of it alone: whatever the
/// ceremony leads to (a sign-in, an approval, a refusal and its throttle
/// count) commits durably afterwards, and the WAL is written in order, so
/// that commit makes the take durable too. Only a challenge whose answer was
/// never acknowledged can come back after a power cut.
pub async fn take(
    db: &Db,
    id: Uuid,
    user_id: Uuid,
    purpose: Purpose,
    subject: Option<Uuid>,
) -> Result<Option<(String, Millis)>, sqlx::Error> {
    // A ceremony without a subject matches only `subject == None` (nil).
    let nil = Uuid::nil();
    relaxed!(db, c => sqlx::query_as::<_, (String, Millis)>(
        "DELETE FROM ceremonies WHERE id = $1 AND user_id = $2 AND purpose = $3 AND COALESCE(subject, $5) = $4 \
         RETURNING state, expires_at")
        .bind(id).bind(user_id).bind(purpose.as_str()).bind(subject.unwrap_or(nil)).bind(nil)
        .fetch_optional(c).await)
}

/// Deletes expired ceremonies and spent passkey handles (housekeeping).
pub async fn delete_expired(db: &Db, now: Millis) -> Result<u64, sqlx::Error> {
    let spent = relaxed!(db, c => sqlx::query("DELETE FROM spent_passkey_ceremonies WHERE expires_at < $1")
        .bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    let taken = relaxed!(db, c => sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1").bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(spent + taken)
}

/// Spends the passkey ceremony handle with this digest: true the first
/// time, false ever after (until it has expired, when it can no longer be
/// opened anyway). Relaxed, for the reason [`take`] gives.
pub async fn spend_passkey(
    db: &Db,
    digest: &[u8],
    expires_at: Millis,
) -> Result<bool, sqlx::Error> {
    let done = relaxed!(db, c => sqlx::query(
        "INSERT INTO spent_passkey_ceremonies (digest, expires_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING")
        .bind(digest).bind(expires_at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
