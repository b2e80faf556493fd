//! Enrolled security keys.

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx};

/// Name of the constraint that keeps credential ids unique across users.
pub const UNIQUE_CREDENTIAL_ID: &str = "credentials_credential_id_key";

/// A stored security key.
#[derive(Debug, Clone, FromRow)]
pub struct CredentialRow {
    /// Keyward's id for the key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// WebAuthn credential id (raw bytes).
    pub credential_id: Vec<u8>,
    /// User's name for the key.
    pub label: String,
    /// Authenticator model, if known.
    pub aaguid: Option<Uuid>,
    /// Attestation format at enrolment.
    pub attestation_format: String,
    /// webauthn-rs SecurityKey JSON.
    pub key_json: String,
    /// Last accepted signature counter.
    pub sign_count: i64,
    /// A counter regression was seen: the key may have been cloned.
    pub possibly_cloned: bool,
    /// Enrolment time.
    pub created_at: Millis,
    /// Last successful assertion.
    pub last_used_at: Option<Millis>,
    /// The metadata status that suspended the key (its model was found
    /// compromised); it approves nothing while set.
    pub suspended_reason: Option<String>,
    /// When it was suspended.
    pub suspended_at: Option<Millis>,
    /// A removal the security lock delays can be finished from then.
    pub removal_from: Option<Millis>,
}

/// The columns a new key is stored with.
const NEW: &str = "id, user_id, credential_id, label, aaguid, attestation_format, key_json, \
                   sign_count, possibly_cloned, created_at, last_used_at, suspended_reason, \
                   suspended_at";
const COLUMNS: &str = "id, user_id, credential_id, label, aaguid, attestation_format, key_json, \
                       sign_count, possibly_cloned, created_at, last_used_at, suspended_reason, \
                       suspended_at, removal_from";

/// Stores a new key. A credential id already enrolled anywhere fails with
/// [`UNIQUE_CREDENTIAL_ID`].
pub async fn insert(tx: &mut Tx, k: &CredentialRow) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO credentials ({NEW}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"
    );
    on_tx!(tx, c => sqlx::query(&sql)
        .bind(k.id).bind(k.user_id).bind(&k.credential_id).bind(&k.label).bind(k.aaguid)
        .bind(&k.attestation_format).bind(&k.key_json).bind(k.sign_count).bind(k.possibly_cloned)
        .bind(k.created_at).bind(k.last_used_at).bind(&k.suspended_reason).bind(k.suspended_at)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user's keys, oldest first.
pub async fn for_user(db: &Db, user_id: Uuid) -> Result<Vec<CredentialRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM credentials WHERE user_id = $1 ORDER BY created_at, id");
    on_db!(db, c => sqlx::query_as::<_, CredentialRow>(&sql).bind(user_id).fetch_all(c).await)
}

/// How many keys the user has, inside a transaction.
pub async fn count_for_user(tx: &mut Tx, user_id: Uuid) -> Result<i64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM credentials WHERE user_id = $1")
        .bind(user_id).fetch_one(c).await)
}

/// Renames one of the user's keys; false if it is not theirs.
/// Clears the "possibly cloned" flag of one of the user's keys (the user
/// confirmed it is in their hands). Returns whether the key exists.
pub async fn confirm(tx: &mut Tx, user_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE credentials SET possibly_cloned = FALSE WHERE id = $1 AND user_id = $2")
        .bind(id).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Renames one of the user's keys. Returns whether it exists.
pub async fn rename(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    label: &str,
) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query("UPDATE credentials SET label = $1 WHERE id = $2 AND user_id = $3")
        .bind(label).bind(id).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Deletes one of the user's keys; false if it is not theirs.
pub async fn delete(tx: &mut Tx, user_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = on_tx!(tx, c => sqlx::query("DELETE FROM credentials WHERE id = $1 AND user_id = $2")
        .bind(id).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Deletes every key of the user (a completed recovery); how many.
pub async fn delete_all(tx: &mut Tx, user_id: Uuid) -> Result<u64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query("DELETE FROM credentials WHERE user_id = $1")
        .bind(user_id).execute(c).await.map(|r| r.rows_affected()))
}

/// Records a successful assertion with a compare-and-set on the counter:
/// the row changes only if the new counter is greater than the stored one
/// (or both are zero, for authenticators without a counter). Returns false
/// when the counter did not increase — a replay, a race, or a cloned key.
pub async fn record_use(
    tx: &mut Tx,
    id: Uuid,
    counter: u32,
    key_json: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let counter = i64::from(counter);
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE credentials SET sign_count = $1, key_json = $2, last_used_at = $3 \
         WHERE id = $4 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))")
        .bind(counter).bind(key_json).bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Flags the user's key with this credential id as possibly cloned.
pub async fn mark_possibly_cloned(
    tx: &mut Tx,
    user_id: Uuid,
    credential_id: &[u8],
) -> Result<Option<Uuid>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_scalar::<_, Uuid>(
        "UPDATE credentials SET possibly_cloned = TRUE WHERE user_id = $1 AND credential_id = $2 RETURNING id")
        .bind(user_id).bind(credential_id).fetch_optional(c).await)
}

/// A key as it was enrolled, from the append-only history (kept after the
/// key is removed).
#[derive(Debug, Clone, FromRow)]
pub struct EnrolledEver {
    /// Whose key.
    pub user_id: Uuid,
    /// Raw credential id.
    pub credential_id: Vec<u8>,
    /// webauthn-rs's key as enrolled (its public key never changes).
    pub key_json: String,
}

/// The key `key_id` as it was enrolled, removed since or not.
pub async fn enrolled_ever(db: &Db, key_id: Uuid) -> Result<Option<EnrolledEver>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, EnrolledEver>(
        "SELECT user_id, credential_id, key_json FROM key_history WHERE key_id = $1")
        .bind(key_id).fetch_optional(c).await)
}

/// A key of a model, for suspension.
#[derive(Debug, Clone, FromRow)]
pub struct ModelKey {
    /// Keyward's id for the key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// The model.
    pub aaguid: Option<Uuid>,
    /// Current suspension, if any.
    pub suspended_reason: Option<String>,
}

/// Every key of a known model (AAGUID set), with its suspension.
pub async fn with_models(tx: &mut Tx) -> Result<Vec<ModelKey>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as::<_, ModelKey>(
        "SELECT id, user_id, aaguid, suspended_reason FROM credentials WHERE aaguid IS NOT NULL \
         ORDER BY created_at, id")
        .fetch_all(c).await)
}

/// Suspends key `id` for `reason` (a metadata status), or lifts its
/// suspension (`None`).
pub async fn set_suspension(
    tx: &mut Tx,
    id: Uuid,
    reason: Option<&str>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let at = reason.map(|_| now);
    on_tx!(tx, c => sqlx::query(
        "UPDATE credentials SET suspended_reason = $1, suspended_at = $2 WHERE id = $3")
        .bind(reason).bind(at).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A suspended key, for the operator's list.
#[derive(Debug, Clone, FromRow)]
pub struct SuspendedKey {
    /// Keyward's id for the key.
    pub id: Uuid,
    /// Owner's username.
    pub username: String,
    /// User's name for the key.
    pub label: String,
    /// The model.
    pub aaguid: Option<Uuid>,
    /// The status that suspended it.
    pub suspended_reason: String,
    /// Since when.
    pub suspended_at: Millis,
}

/// How many keys are suspended (the metrics gauge).
pub async fn count_suspended(db: &Db) -> Result<u64, sqlx::Error> {
    let n = on_db!(db, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM credentials WHERE suspended_reason IS NOT NULL")
        .fetch_one(c).await)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Every suspended key, oldest suspension first.
pub async fn suspended(db: &Db) -> Result<Vec<SuspendedKey>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, SuspendedKey>(
        "SELECT c.id, u.username, c.label, c.aaguid, c.suspended_reason, c.suspended_at \
         FROM credentials c JOIN users u ON u.id = c.user_id \
         WHERE c.suspended_reason IS NOT NULL ORDER BY c.suspended_at, c.id")
        .fetch_all(c).await)
}

/// Schedules (`Some`) or cancels (`None`) the removal of one of the user's
/// keys; false if the user has no such key, or (cancelling) none was
/// scheduled.
pub async fn set_removal_from(
    tx: &mut Tx,
    user_id: Uuid,
    key_id: Uuid,
    from: Option<Millis>,
) -> Result<bool, sqlx::Error> {
    let sql = if from.is_some() {
        "UPDATE credentials SET removal_from = $1 WHERE id = $2 AND user_id = $3"
    } else {
        "UPDATE credentials SET removal_from = $1 WHERE id = $2 AND user_id = $3 AND removal_from IS NOT NULL"
    };
    let n = on_tx!(tx, c => sqlx::query(sql).bind(from).bind(key_id).bind(user_id)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
