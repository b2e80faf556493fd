//! Recovery codes and recoveries (see `migrations/*/0014_recovery.sql`).

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx, on_db, on_tx};

/// Replaces the user's recovery codes with these (hashes).
pub async fn replace_codes(
    tx: &mut Tx,
    user_id: Uuid,
    hashes: &[Vec<u8>],
    now: Millis,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id).execute(c).await.map(|_| ()))?;
    for hash in hashes {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user_id).bind(hash).bind(now).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

/// Unused codes and when the set was made.
pub async fn code_status(db: &Db, user_id: Uuid) -> Result<(i64, Option<Millis>), sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, (i64, Option<Millis>)>(
        "SELECT COUNT(*) FILTER (WHERE used_at IS NULL), MAX(created_at) FROM recovery_codes WHERE user_id = $1")
        .bind(user_id).fetch_one(c).await)
}

/// Spends one of the user's unused codes; false if it is not one.
pub async fn spend_code(
    tx: &mut Tx,
    user_id: Uuid,
    hash: &[u8],
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
        .bind(user_id).bind(hash).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A recovery.
#[derive(Debug, Clone, FromRow)]
pub struct RecoveryRow {
    /// Its id.
    pub id: Uuid,
    /// Whose account.
    pub user_id: Uuid,
    /// SHA-256 of the completion token.
    pub token_hash: Vec<u8>,
    /// `pending`, `cancelled` or `completed`.
    pub status: String,
    /// Started.
    pub started_at: Millis,
    /// May complete from.
    pub completes_at: Millis,
    /// Cancelled or completed at.
    pub ended_at: Option<Millis>,
}

const COLUMNS: &str = "id, user_id, token_hash, status, started_at, completes_at, ended_at";

/// Stores a new pending recovery; a second pending one for the user fails
/// (unique index `recoveries_user_id_key`).
pub async fn insert(tx: &mut Tx, r: &RecoveryRow) -> Result<(), sqlx::Error> {
    let sql = format!("INSERT INTO recoveries ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7)");
    on_tx!(tx, c => sqlx::query(&sql)
        .bind(r.id).bind(r.user_id).bind(&r.token_hash).bind(&r.status).bind(r.started_at)
        .bind(r.completes_at).bind(r.ended_at).execute(c).await.map(|_| ()))
}

/// The user's pending recovery, if any.
pub async fn pending(db: &Db, user_id: Uuid) -> Result<Option<RecoveryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM recoveries WHERE user_id = $1 AND status = 'pending'");
    on_db!(db, c => sqlx::query_as::<_, RecoveryRow>(&sql).bind(user_id).fetch_optional(c).await)
}

/// The user's pending recovery, inside a transaction.
pub async fn pending_in(tx: &mut Tx, user_id: Uuid) -> Result<Option<RecoveryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM recoveries WHERE user_id = $1 AND status = 'pending'");
    on_tx!(tx, c => sqlx::query_as::<_, RecoveryRow>(&sql).bind(user_id).fetch_optional(c).await)
}

/// The recovery whose token hashes to `hash`.
pub async fn by_token(db: &Db, hash: &[u8]) -> Result<Option<RecoveryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM recoveries WHERE token_hash = $1");
    on_db!(db, c => sqlx::query_as::<_, RecoveryRow>(&sql).bind(hash).fetch_optional(c).await)
}

/// Ends a pending recovery as `status` (`cancelled`, `completed`); false if
/// it was not pending any more.
pub async fn end(tx: &mut Tx, id: Uuid, status: &str, now: Millis) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE recoveries SET status = $2, ended_at = $3 WHERE id = $1 AND status = 'pending'")
        .bind(id).bind(status).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
