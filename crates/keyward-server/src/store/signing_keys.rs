//! Approval-token signing keys, shared by all instances through the database.

use sqlx::FromRow;

use crate::clock::Millis;
use crate::db::Db;
use crate::db::on_db;

/// A stored signing key.
#[derive(Clone, FromRow)]
pub struct SigningKeyRow {
    /// Key id (the JWT `kid`).
    pub kid: String,
    /// The Ed25519 private key (PKCS#8 DER) sealed under the KEK; empty for
    /// a key in a token, or once wiped.
    pub private_key: Vec<u8>,
    /// The public JWK (JSON text).
    pub public_jwk: String,
    /// Created.
    pub created_at: Millis,
    /// Retired (no longer signs), if it was.
    pub retired_at: Option<Millis>,
    /// Where the private half is: `kek`, `pkcs11` (or `clear`, legacy).
    pub custody: String,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "kid, private_key, public_jwk, created_at, retired_at, custody";

/// The newest unretired key: the one that signs.
pub async fn active(db: &Db) -> Result<Option<SigningKeyRow>, sqlx::Error> {
    Ok(unretired(db).await?.into_iter().next())
}

/// The unretired keys, newest first (the newest that opens signs).
pub async fn unretired(db: &Db) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid"
    );
    on_db!(db, c => sqlx::query_as::<_, SigningKeyRow>(&sql).fetch_all(c).await)
}

/// Keys to publish: unretired, or retired after `since` (their tokens may still be live).
pub async fn published(db: &Db, since: Millis) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC"
    );
    on_db!(db, c => sqlx::query_as::<_, SigningKeyRow>(&sql).bind(since).fetch_all(c).await)
}

/// All keys, newest first.
pub async fn list(db: &Db) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM signing_keys ORDER BY created_at DESC");
    on_db!(db, c => sqlx::query_as::<_, SigningKeyRow>(&sql).fetch_all(c).await)
}

/// Retires every key stored in clear (custody `clear`: written before keys
/// were sealed, or by someone writing the database) and wipes its private
/// half. Returns how many.
pub async fn retire_clear(db: &Db, now: Millis) -> Result<u64, sqlx::Error> {
    on_db!(db, c => sqlx::query(
        "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $1), private_key = $2 \
         WHERE custody = 'clear' AND (retired_at IS NULL OR LENGTH(private_key) > 0)")
        .bind(now).bind(Vec::<u8>::new()).execute(c).await.map(|r| r.rows_affected()))
}

/// Adds a key and retires every other unretired one (rotation).
pub async fn rotate(db: &Db, row: &SigningKeyRow) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    crate::db::on_tx!(&mut tx, c => sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
        .bind(row.created_at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    crate::db::on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, public_jwk, created_at, custody) VALUES ($1,$2,$3,$4,$5)")
        .bind(&row.kid).bind(&row.private_key).bind(&row.public_jwk).bind(row.created_at).bind(&row.custody)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    tx.commit().await
}

/// Adds a key only if no unretired key exists (first start; safe to race:
/// the loser's insert is skipped or, at worst, two keys are published and
/// the newest signs).
pub async fn insert_if_none(db: &Db, row: &SigningKeyRow) -> Result<(), sqlx::Error> {
    on_db!(db, c => sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, public_jwk, created_at, custody) \
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)")
        .bind(&row.kid).bind(&row.private_key).bind(&row.public_jwk).bind(row.created_at).bind(&row.custody)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
