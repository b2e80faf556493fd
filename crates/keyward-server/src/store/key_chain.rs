//! Users' key chains, append-only (see `migrations/*/0013_key_chain.sql`).

use keyward_proof::ChainEntry;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx, on_db, on_tx};

/// Appends `entry` to the user's entries. Call under the user-row lock
/// ([`crate::store::users::lock`]), after reading the head in the same
/// transaction: the (user, position) key refuses a concurrent append.
pub async fn append(
    tx: &mut Tx,
    user_id: Uuid,
    entry: &ChainEntry,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(entry).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let seq = i64::try_from(entry.statement.seq).map_err(|e| sqlx::Error::Encode(e.into()))?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO key_chain (user_id, position, seq, hash, entry, created_at) \
         VALUES ($1, (SELECT COALESCE(MAX(position) + 1, 0) FROM key_chain WHERE user_id = $1), $2, $3, $4, $5)")
        .bind(user_id).bind(seq).bind(&entry.hash).bind(&json).bind(now)
        .execute(c).await.map(|_| ()))
}

/// Every entry the user ever had, oldest first.
pub async fn all(db: &Db, user_id: Uuid) -> Result<Vec<ChainEntry>, sqlx::Error> {
    let rows: Vec<String> = on_db!(db, c => sqlx::query_scalar(
        "SELECT entry FROM key_chain WHERE user_id = $1 ORDER BY position")
        .bind(user_id).fetch_all(c).await)?;
    parse(rows)
}

/// [`all`], inside a transaction.
pub async fn all_in(tx: &mut Tx, user_id: Uuid) -> Result<Vec<ChainEntry>, sqlx::Error> {
    let rows: Vec<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT entry FROM key_chain WHERE user_id = $1 ORDER BY position")
        .bind(user_id).fetch_all(c).await)?;
    parse(rows)
}

fn parse(rows: Vec<String>) -> Result<Vec<ChainEntry>, sqlx::Error> {
    rows.iter()
        .map(|json| serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(e.into())))
        .collect()
}

/// Users who have keys but no chain (keys enrolled before chains existed,
/// or imported).
pub async fn unchained_users(db: &Db) -> Result<Vec<Uuid>, sqlx::Error> {
    on_db!(db, c => sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM credentials c WHERE NOT EXISTS \
         (SELECT 1 FROM key_chain k WHERE k.user_id = c.user_id)")
        .fetch_all(c).await)
}
