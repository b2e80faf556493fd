//! The operator's withdrawal freeze and the address allow-list.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx};

/// Reads the global freeze inside `tx`. On PostgreSQL the row is locked
/// `FOR SHARE`, so an operator's freeze (an UPDATE of the row) waits for
/// in-flight redeems and every redeem after it sees the freeze: a redeem
/// completes before the freeze commits, or is refused.
pub async fn global_freeze(tx: &mut Tx) -> Result<Option<String>, sqlx::Error> {
    let row: (bool, Option<String>) = match tx {
        Tx::Sqlite(t) => {
            sqlx::query_as("SELECT frozen, reason FROM withdrawal_controls WHERE id = 1")
                .fetch_one(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as("SELECT frozen, reason FROM withdrawal_controls WHERE id = 1 FOR SHARE")
                .fetch_one(&mut **t)
                .await?
        }
    };
    Ok(row.0.then(|| row.1.unwrap_or_default()))
}

/// The global freeze, outside a transaction (for status displays).
pub async fn global_freeze_now(db: &Db) -> Result<(bool, Option<String>, Millis), sqlx::Error> {
    on_db!(db, c => sqlx::query_as("SELECT frozen, reason, changed_at FROM withdrawal_controls WHERE id = 1").fetch_one(c).await)
}

/// Sets the global freeze; returns whether it changed.
pub async fn set_global_freeze(
    tx: &mut Tx,
    frozen: bool,
    reason: Option<&str>,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE withdrawal_controls SET frozen = $1, reason = $2, changed_at = $3 WHERE id = 1 AND frozen <> $1")
        .bind(frozen).bind(reason).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// An allow-listed withdrawal address.
#[derive(Debug, Clone, FromRow)]
pub struct AddressRow {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Network.
    pub network: String,
    /// Address.
    pub address: String,
    /// Label.
    pub label: String,
    /// Added.
    pub created_at: Millis,
    /// Usable from (after cooling-off).
    pub usable_from: Millis,
    /// Memo / destination tag a withdrawal to it must carry, if any.
    pub memo: Option<String>,
}

const ADDRESS_COLUMNS: &str = "id, user_id, network, address, label, created_at, usable_from, memo";

/// Adds an address (or, if already listed, leaves the existing entry and its
/// cooling-off alone). Returns the entry.
pub async fn add_address(tx: &mut Tx, row: &AddressRow) -> Result<AddressRow, sqlx::Error> {
    on_tx!(tx, c => sqlx::query(&format!(
        "INSERT INTO withdrawal_addresses ({ADDRESS_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) \
         ON CONFLICT (user_id, network, address) DO NOTHING"))
        .bind(row.id).bind(row.user_id).bind(&row.network).bind(&row.address).bind(&row.label)
        .bind(row.created_at).bind(row.usable_from).bind(&row.memo).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, c => sqlx::query_as::<_, AddressRow>(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM withdrawal_addresses WHERE user_id = $1 AND network = $2 AND address = $3"))
        .bind(row.user_id).bind(&row.network).bind(&row.address).fetch_one(c).await)
}

/// The user's entry for a destination, inside `tx`.
pub async fn address_for(
    tx: &mut Tx,
    user_id: Uuid,
    network: &str,
    address: &str,
) -> Result<Option<AddressRow>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as::<_, AddressRow>(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM withdrawal_addresses WHERE user_id = $1 AND network = $2 AND address = $3"))
        .bind(user_id).bind(network).bind(address).fetch_optional(c).await)
}

/// The user's addresses, newest first.
pub async fn addresses(db: &Db, user_id: Uuid) -> Result<Vec<AddressRow>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, AddressRow>(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM withdrawal_addresses WHERE user_id = $1 ORDER BY created_at DESC"))
        .bind(user_id).fetch_all(c).await)
}

/// Removes one of the user's addresses (takes effect at once).
pub async fn remove_address(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as::<_, (String, String, String)>(
        "DELETE FROM withdrawal_addresses WHERE id = $1 AND user_id = $2 RETURNING network, address, label")
        .bind(id).bind(user_id).fetch_optional(c).await)
}
