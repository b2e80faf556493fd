//! User API keys. Only the SHA-256 of a key is stored. Revocations bump a
//! shared epoch that every instance polls to drop its verify cache.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx};

/// A stored API key.
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// User's label.
    pub label: String,
    /// Non-secret display prefix.
    pub prefix: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// JSON array of allowed addresses / CIDR ranges.
    pub ip_allowlist: String,
    /// Created.
    pub created_at: Millis,
    /// Expires, if it does.
    pub expires_at: Option<Millis>,
    /// Revoked, if it was.
    pub revoked_at: Option<Millis>,
    /// Last successful verification (batched).
    pub last_used_at: Option<Millis>,
    /// The approval that created it.
    pub step_up_id: Uuid,
}

const COLUMNS: &str = "id, user_id, label, prefix, scopes, ip_allowlist, created_at, expires_at, revoked_at, last_used_at, step_up_id";

/// Stores a new key.
pub async fn insert(tx: &mut Tx, k: &ApiKeyRow, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO api_keys (id, user_id, label, token_hash, prefix, scopes, ip_allowlist, created_at, expires_at, step_up_id) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)")
        .bind(k.id).bind(k.user_id).bind(&k.label).bind(token_hash).bind(&k.prefix).bind(&k.scopes)
        .bind(&k.ip_allowlist).bind(k.created_at).bind(k.expires_at).bind(k.step_up_id)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The key with this hash (revoked or not: the caller says why it refuses).
pub async fn by_hash(db: &Db, token_hash: &[u8]) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE token_hash = $1");
    on_db!(db, c => sqlx::query_as::<_, ApiKeyRow>(&sql).bind(token_hash).fetch_optional(c).await)
}

/// The user's keys, newest first.
pub async fn for_user(db: &Db, user_id: Uuid) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id");
    on_db!(db, c => sqlx::query_as::<_, ApiKeyRow>(&sql).bind(user_id).fetch_all(c).await)
}

/// How many of the user's keys are live (not revoked, not expired).
pub async fn count_live(tx: &mut Tx, user_id: Uuid, now: Millis) -> Result<i64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)")
        .bind(user_id).bind(now).fetch_one(c).await)
}

/// Revokes one of the user's keys; returns its prefix if it was live.
pub async fn revoke(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    now: Millis,
) -> Result<Option<(String, String)>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as::<_, (String, String)>(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL RETURNING prefix, label")
        .bind(now).bind(id).bind(user_id).fetch_optional(c).await)
}

/// Revokes all of the user's keys; returns how many.
pub async fn revoke_all(tx: &mut Tx, user_id: Uuid, now: Millis) -> Result<u64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now).bind(user_id).execute(c).await.map(|r| r.rows_affected()))
}

/// Bumps the revocation epoch (in the revoking transaction).
pub async fn bump_epoch(tx: &mut Tx) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE api_key_epoch SET epoch = epoch + 1 WHERE id = 1")
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The current revocation epoch.
pub async fn epoch(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, c => sqlx::query_scalar::<_, i64>("SELECT epoch FROM api_key_epoch WHERE id = 1").fetch_one(c).await)
}

/// Writes batched last-used times (never moving one backwards).
pub async fn record_last_used(db: &Db, uses: &[(Uuid, Millis)]) -> Result<(), sqlx::Error> {
    if uses.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (id, at) in uses {
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
            .bind(*at).bind(*id).execute(c).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await
}
