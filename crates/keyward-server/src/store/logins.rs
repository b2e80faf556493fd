//! Signed-in sessions ("logins"), the server-side half of a session cookie.
//! A login can be ended from anywhere; every request checks it.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx, relaxed};

/// A signed-in session.
#[derive(Debug, Clone, FromRow)]
pub struct LoginRow {
    /// Login id (not the cookie's session id).
    pub id: Uuid,
    /// Who signed in.
    pub user_id: Uuid,
    /// When.
    pub created_at: Millis,
    /// Last request seen.
    pub last_seen_at: Millis,
    /// Absolute expiry.
    pub expires_at: Millis,
    /// When it was ended, if it was.
    pub ended_at: Option<Millis>,
    /// Client address at sign-in.
    pub ip: String,
    /// Client user agent at sign-in.
    pub user_agent: String,
}

const COLUMNS: &str = "id, user_id, created_at, last_seen_at, expires_at, ended_at, ip, user_agent";

/// Records a new login.
pub async fn insert(tx: &mut Tx, l: &LoginRow) -> Result<(), sqlx::Error> {
    let sql = format!("INSERT INTO logins ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)");
    on_tx!(tx, c => sqlx::query(&sql)
        .bind(l.id).bind(l.user_id).bind(l.created_at).bind(l.last_seen_at).bind(l.expires_at)
        .bind(l.ended_at).bind(&l.ip).bind(&l.user_agent).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A login by id.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<LoginRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM logins WHERE id = $1");
    on_db!(db, c => sqlx::query_as::<_, LoginRow>(&sql).bind(id).fetch_optional(c).await)
}

/// Notes activity on a login last seen at `last_seen_at`: at most once a
/// minute, to spare writes (the idle timeout is counted in minutes, so this
/// loses nothing that matters). Relaxed: a last-seen time lost in a power cut
/// only makes the session look idle sooner.
pub async fn touch(
    db: &Db,
    id: Uuid,
    last_seen_at: Millis,
    now: Millis,
) -> Result<(), sqlx::Error> {
    if now - last_seen_at < TOUCH_EVERY_MS {
        return Ok(());
    }
    relaxed!(db, c => sqlx::query("UPDATE logins SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3")
        .bind(now).bind(id).bind(now - TOUCH_EVERY_MS).execute(c).await.map(|_| ()))
}

const TOUCH_EVERY_MS: Millis = 60_000;

/// The user's logins that are neither ended nor expired, newest first.
pub async fn active_for_user(
    db: &Db,
    user_id: Uuid,
    now: Millis,
) -> Result<Vec<LoginRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM logins WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC"
    );
    on_db!(db, c => sqlx::query_as::<_, LoginRow>(&sql).bind(user_id).bind(now).fetch_all(c).await)
}

/// Ends one of the user's logins; false if there was no such active login.
pub async fn end(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    reason: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE logins SET ended_at = $1, end_reason = $2 WHERE id = $3 AND user_id = $4 AND ended_at IS NULL")
        .bind(now).bind(reason).bind(id).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Ends all of the user's logins except `keep`; returns how many.
pub async fn end_others(
    tx: &mut Tx,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let keep = keep.unwrap_or(Uuid::nil());
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE logins SET ended_at = $1, end_reason = $2 WHERE user_id = $3 AND id <> $4 AND ended_at IS NULL")
        .bind(now).bind(reason).bind(user_id).bind(keep).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
