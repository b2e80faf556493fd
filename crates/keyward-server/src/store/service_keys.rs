//! Service keys: bearer tokens of the exchange's back-end services. Only the
//! SHA-256 of a token is stored; lookup is by that hash.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::Db;
use crate::db::on_db;

/// A stored service key.
#[derive(Debug, Clone, FromRow)]
pub struct ServiceKeyRow {
    /// Id.
    pub id: Uuid,
    /// Operator's name for the service.
    pub name: String,
    /// Non-secret display prefix.
    pub prefix: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// Created.
    pub created_at: Millis,
    /// Revoked, if it was.
    pub revoked_at: Option<Millis>,
}

impl ServiceKeyRow {
    /// Whether the key carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.split(' ').any(|s| s == scope)
    }
}

const COLUMNS: &str = "id, name, prefix, scopes, created_at, revoked_at";

/// Stores a new key.
pub async fn insert(db: &Db, row: &ServiceKeyRow, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    on_db!(db, c => sqlx::query(
        "INSERT INTO service_keys (id, name, token_hash, prefix, scopes, created_at) VALUES ($1,$2,$3,$4,$5,$6)")
        .bind(row.id).bind(&row.name).bind(token_hash).bind(&row.prefix).bind(&row.scopes).bind(row.created_at)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The unrevoked key with this token hash.
pub async fn by_hash(db: &Db, token_hash: &[u8]) -> Result<Option<ServiceKeyRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM service_keys WHERE token_hash = $1 AND revoked_at IS NULL");
    on_db!(db, c => sqlx::query_as::<_, ServiceKeyRow>(&sql).bind(token_hash).fetch_optional(c).await)
}

/// All keys, newest first.
pub async fn list(db: &Db) -> Result<Vec<ServiceKeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM service_keys ORDER BY created_at DESC");
    on_db!(db, c => sqlx::query_as::<_, ServiceKeyRow>(&sql).fetch_all(c).await)
}

/// Revokes a key; false if unknown or already revoked. Bumps the credential
/// epoch in the same transaction, so every instance drops its cached copy.
pub async fn revoke(db: &Db, id: Uuid, now: Millis) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let n = crate::db::on_tx!(&mut tx, c => sqlx::query("UPDATE service_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 1 {
        crate::store::api_keys::bump_epoch(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}
