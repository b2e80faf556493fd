//! Secrets shared by every instance (`server_secrets`).

use crate::db::Db;
use crate::db::{on_db, relaxed};

/// The secret `name`: the one already stored, or `fresh`, stored now. Two
/// instances starting at once agree on whichever was stored first.
pub async fn get_or_create(db: &Db, name: &str, fresh: &[u8]) -> Result<Vec<u8>, sqlx::Error> {
    relaxed!(db, c => sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name).bind(fresh).execute(c).await.map(|r| r.rows_affected()))?;
    on_db!(db, c => sqlx::query_scalar::<_, Vec<u8>>("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name).fetch_one(c).await)
}

/// Replaces secret `name` if it still holds `old` (compare-and-set: two
/// instances sealing the same legacy secret agree).
pub async fn replace(db: &Db, name: &str, old: &[u8], new: &[u8]) -> Result<(), sqlx::Error> {
    relaxed!(db, c => sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2 AND value = $3")
        .bind(new).bind(name).bind(old).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
