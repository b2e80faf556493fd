//! Accounts.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx};
use crate::domain::security_lock::SecurityLock;

/// A stored account.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// Account id.
    pub id: Uuid,
    /// Normalised username.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When the account was created.
    pub created_at: Millis,
}

/// Inserts an account; a taken username fails with `users_username_key`.
pub async fn insert(tx: &mut Tx, user: &UserRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(user.id).bind(&user.username).bind(&user.password_hash).bind(user.created_at)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Looks an account up by normalised username.
pub async fn by_name(db: &Db, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, UserRow>(
        "SELECT id, username, password_hash, created_at FROM users WHERE username = $1")
        .bind(username).fetch_optional(c).await)
}

/// Looks an account up by id.
pub async fn by_id(db: &Db, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, UserRow>(
        "SELECT id, username, password_hash, created_at FROM users WHERE id = $1")
        .bind(id).fetch_optional(c).await)
}

/// The account with this id, inside a transaction.
pub async fn by_id_in(tx: &mut Tx, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as::<_, UserRow>(
        "SELECT id, username, password_hash, created_at FROM users WHERE id = $1")
        .bind(id).fetch_optional(c).await)
}

/// When the operator locked the account, if locked.
pub async fn locked_at(db: &Db, id: Uuid) -> Result<Option<Millis>, sqlx::Error> {
    let row: Option<(Option<Millis>,)> = on_db!(db, c => sqlx::query_as(
        "SELECT locked_at FROM users WHERE id = $1").bind(id).fetch_optional(c).await)?;
    Ok(row.and_then(|(at,)| at))
}

/// Sets or clears the operator lock. Returns whether it changed.
pub async fn set_locked(tx: &mut Tx, id: Uuid, at: Option<Millis>) -> Result<bool, sqlx::Error> {
    let changed = on_tx!(tx, c => sqlx::query(
        "UPDATE users SET locked_at = $2 WHERE id = $1 AND (locked_at IS NULL) <> ($2 IS NULL)")
        .bind(id).bind(at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Locks the user row inside `tx` (a no-op write: PostgreSQL takes a row
/// lock, SQLite's transaction holds the write lock anyway). Done first in
/// every transaction that reads-then-changes per-user state — key count,
/// redeemed totals — so two concurrent changes cannot both act on a stale read.
pub async fn lock(tx: &mut Tx, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE users SET keys_version = keys_version + 1 WHERE id = $1")
        .bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Per-user policy state: self-freeze and the withdrawal hold.
#[derive(Debug, Clone, FromRow)]
pub struct PolicyRow {
    /// When the user froze the account, if frozen.
    pub frozen_at: Option<Millis>,
    /// Withdrawals held until.
    pub hold_until: Option<Millis>,
    /// Why.
    pub hold_reason: Option<String>,
    /// When the operator locked the account, if locked.
    pub locked_at: Option<Millis>,
    /// The user's security lock: days in force.
    pub security_lock_days: i64,
    /// A waiting shortening of it: its days…
    pub security_lock_next_days: Option<i64>,
    /// …and from when.
    pub security_lock_next_at: Option<Millis>,
    /// The last security change (risk signal `recent_security_change`).
    pub security_changed_at: Option<Millis>,
}

const POLICY: &str = "frozen_at, hold_until, hold_reason, locked_at, security_lock_days, \
                      security_lock_next_days, security_lock_next_at, security_changed_at";

impl PolicyRow {
    /// Until when a loosening change asked for at `now` waits: `delay`,
    /// or the user's security lock if that is longer.
    pub fn loosening_until(&self, now: Millis, delay: Millis) -> Millis {
        (now + delay).max(self.security_lock().loosening_from(now))
    }

    /// The user's security lock as stored.
    pub fn security_lock(&self) -> SecurityLock {
        let days = |d: i64| u32::try_from(d).unwrap_or(0);
        SecurityLock {
            days: days(self.security_lock_days),
            next: self
                .security_lock_next_days
                .zip(self.security_lock_next_at)
                .map(|(d, at)| (days(d), at)),
        }
    }

    /// Frozen by the user, or locked by the operator: no withdrawal, no
    /// API key with effect.
    pub fn stopped(&self) -> bool {
        self.frozen_at.is_some() || self.locked_at.is_some()
    }
}

/// Locks the user row inside `tx`, as [`lock`], and returns its policy state
/// from the same statement (one round trip fewer on the step-up path).
pub async fn lock_with_policy(
    tx: &mut Tx,
    user_id: Uuid,
) -> Result<Option<PolicyRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE users SET keys_version = keys_version + 1 WHERE id = $1 RETURNING {POLICY}"
    );
    on_tx!(tx, c => sqlx::query_as::<_, PolicyRow>(&sql)
        .bind(user_id).fetch_optional(c).await)
}

/// Reads the user's policy state outside a transaction.
pub async fn policy_now(db: &Db, user_id: Uuid) -> Result<Option<PolicyRow>, sqlx::Error> {
    let sql = format!("SELECT {POLICY} FROM users WHERE id = $1");
    on_db!(db, c => sqlx::query_as::<_, PolicyRow>(&sql).bind(user_id).fetch_optional(c).await)
}

/// Stores the user's security lock.
pub async fn set_security_lock(
    tx: &mut Tx,
    user_id: Uuid,
    lock: SecurityLock,
) -> Result<(), sqlx::Error> {
    let (next_days, next_at) = lock
        .next
        .map_or((None, None), |(d, at)| (Some(i64::from(d)), Some(at)));
    on_tx!(tx, c => sqlx::query(
        "UPDATE users SET security_lock_days = $1, security_lock_next_days = $2, security_lock_next_at = $3 WHERE id = $4")
        .bind(i64::from(lock.days)).bind(next_days).bind(next_at).bind(user_id)
        .execute(c).await.map(|_| ()))
}

/// Records a security change at `now` and holds withdrawals until at
/// least `until` (never shortens an existing hold).
pub async fn security_changed(
    tx: &mut Tx,
    user_id: Uuid,
    now: Millis,
    until: Millis,
    reason: keyward_api::PolicyReason,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE users SET security_changed_at = $1 WHERE id = $2")
        .bind(now).bind(user_id).execute(c).await.map(|_| ()))?;
    extend_hold(tx, user_id, until, reason).await
}

/// Holds withdrawals until at least `until` (never shortens an existing
/// hold): after a security change, or a risk signal's hold.
pub async fn extend_hold(
    tx: &mut Tx,
    user_id: Uuid,
    until: Millis,
    reason: keyward_api::PolicyReason,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE users SET hold_until = $1, hold_reason = $2 WHERE id = $3 AND (hold_until IS NULL OR hold_until < $1)")
        .bind(until).bind(reason.as_str()).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets or clears the user's self-freeze; returns whether anything changed.
pub async fn set_frozen(
    tx: &mut Tx,
    user_id: Uuid,
    frozen_at: Option<Millis>,
) -> Result<bool, sqlx::Error> {
    let sql = if frozen_at.is_some() {
        "UPDATE users SET frozen_at = $1 WHERE id = $2 AND frozen_at IS NULL"
    } else {
        "UPDATE users SET frozen_at = $1 WHERE id = $2 AND frozen_at IS NOT NULL"
    };
    let n = on_tx!(tx, c => sqlx::query(sql).bind(frozen_at).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The user's anti-phishing phrase, if set.
pub async fn phrase(db: &Db, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> = on_db!(db, c => sqlx::query_as("SELECT anti_phishing_phrase FROM users WHERE id = $1")
        .bind(user_id).fetch_optional(c).await)?;
    Ok(row.and_then(|r| r.0))
}

/// Sets the user's anti-phishing phrase.
pub async fn set_phrase(tx: &mut Tx, user_id: Uuid, phrase: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE users SET anti_phishing_phrase = $1 WHERE id = $2")
        .bind(phrase).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Replaces the password hash.
pub async fn set_password(
    tx: &mut Tx,
    user_id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
