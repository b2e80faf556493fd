//! FIDO metadata in use (`metadata_blob`, `metadata_models`).

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx};

/// The BLOB in use.
#[derive(Debug, Clone, FromRow)]
pub struct BlobRow {
    /// Its serial.
    pub no: i64,
    /// ISO date the next BLOB is due by.
    pub next_update: String,
    /// When it was imported.
    pub imported_at: Millis,
}

/// A model as stored, with the facts pages and checks read.
#[derive(Debug, Clone, FromRow)]
pub struct ModelRow {
    /// The model.
    pub aaguid: Uuid,
    /// Its name.
    pub description: String,
    /// Its latest status, if any.
    pub status: Option<String>,
    /// Its certification level (`L1`, `L2plus`, …), if certified.
    pub certification: Option<String>,
    /// The whole [`keyward_fido::ModelMetadata`], JSON.
    pub model_json: String,
}

/// The BLOB in use, if one was imported.
pub async fn current(db: &Db) -> Result<Option<BlobRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, BlobRow>(
        "SELECT no, next_update, imported_at FROM metadata_blob WHERE id = 1")
        .fetch_optional(c).await)
}

/// Makes BLOB `no` the one in use, only if `no` is greater than the serial
/// in use (compare-and-set: two imports racing cannot both win, and an older
/// BLOB never replaces a newer one). Returns whether it did.
pub async fn advance(
    tx: &mut Tx,
    no: i64,
    next_update: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query(
        "INSERT INTO metadata_blob (id, no, next_update, imported_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET no = excluded.no, next_update = excluded.next_update, \
         imported_at = excluded.imported_at WHERE metadata_blob.no < excluded.no")
        .bind(no).bind(next_update).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Replaces every stored model with `models`.
pub async fn replace_models(tx: &mut Tx, models: &[ModelRow]) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("DELETE FROM metadata_models").execute(c).await.map(|r| r.rows_affected()))?;
    for m in models {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO metadata_models (aaguid, description, status, certification, model_json) \
             VALUES ($1, $2, $3, $4, $5)")
            .bind(m.aaguid).bind(&m.description).bind(&m.status).bind(&m.certification)
            .bind(&m.model_json).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Every stored model.
pub async fn models(db: &Db) -> Result<Vec<ModelRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, ModelRow>(
        "SELECT aaguid, description, status, certification, model_json FROM metadata_models")
        .fetch_all(c).await)
}

/// One model, if metadata describes it.
pub async fn model(db: &Db, aaguid: Uuid) -> Result<Option<ModelRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, ModelRow>(
        "SELECT aaguid, description, status, certification, model_json FROM metadata_models \
         WHERE aaguid = $1")
        .bind(aaguid).fetch_optional(c).await)
}
