//! Accounts.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::{on_db, on_tx};

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

/// Bumps the user's key version inside `tx`. Done first in every transaction
/// that changes a user's keys: it locks the user row (PostgreSQL) so two
/// concurrent changes cannot both act on a stale key count.
pub async fn lock_keys(tx: &mut Tx, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE users SET keys_version = keys_version + 1 WHERE id = $1")
        .bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
