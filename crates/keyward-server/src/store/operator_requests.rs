//! Operator requests waiting for a second operator (see
//! `migrations/*/0015_operator_requests.sql`).

use sqlx::FromRow;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::{Db, Tx, on_db, on_tx};

/// The index that keeps one pending request per action and subject.
pub const ONE_PENDING: &str = "operator_requests_pending_key";

/// A stored request.
#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    /// Its id.
    pub id: Uuid,
    /// `global_unfreeze`, `user_unlock` or `assisted_recovery`.
    pub action: String,
    /// The account it is about; none for the global freeze.
    pub subject: Option<Uuid>,
    /// Why, as the first operator wrote it.
    pub reason: String,
    /// The first operator's service key.
    pub requested_by: Uuid,
    /// Its name.
    pub requested_by_name: String,
    /// Asked at.
    pub requested_at: Millis,
    /// Lapses at, unless approved.
    pub expires_at: Millis,
    /// `pending`, `approved`, `cancelled` or `expired`.
    pub status: String,
    /// The operator who approved or cancelled it.
    pub decided_by: Option<Uuid>,
    /// Their key's name.
    pub decided_by_name: Option<String>,
    /// Approved or cancelled at.
    pub decided_at: Option<Millis>,
}

const COLUMNS: &str = "id, action, subject, reason, requested_by, requested_by_name, \
    requested_at, expires_at, status, decided_by, decided_by_name, decided_at";

/// The unique index's form of a subject.
fn subject_key(subject: Option<Uuid>) -> String {
    subject.map(|s| s.to_string()).unwrap_or_default()
}

/// Marks pending requests whose window has passed as `expired`, so that
/// they no longer block a new one.
pub async fn expire(tx: &mut Tx, now: Millis) -> Result<u64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE operator_requests SET status = 'expired' WHERE status = 'pending' AND expires_at <= $1")
        .bind(now).execute(c).await.map(|r| r.rows_affected()))
}

/// Stores a new pending request; a second pending one for the same action
/// and subject fails with [`ONE_PENDING`].
pub async fn insert(tx: &mut Tx, r: &RequestRow) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO operator_requests ({COLUMNS}, subject_key) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"
    );
    on_tx!(tx, c => sqlx::query(&sql)
        .bind(r.id).bind(&r.action).bind(r.subject).bind(&r.reason).bind(r.requested_by)
        .bind(&r.requested_by_name).bind(r.requested_at).bind(r.expires_at).bind(&r.status)
        .bind(r.decided_by).bind(&r.decided_by_name).bind(r.decided_at)
        .bind(subject_key(r.subject)).execute(c).await.map(|_| ()))
}

/// The pending request for this action and subject, if any.
pub async fn pending_for(
    tx: &mut Tx,
    action: &str,
    subject: Option<Uuid>,
) -> Result<Option<RequestRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM operator_requests \
         WHERE action = $1 AND subject_key = $2 AND status = 'pending'"
    );
    on_tx!(tx, c => sqlx::query_as::<_, RequestRow>(&sql)
        .bind(action).bind(subject_key(subject)).fetch_optional(c).await)
}

/// One request.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<RequestRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM operator_requests WHERE id = $1");
    on_db!(db, c => sqlx::query_as::<_, RequestRow>(&sql).bind(id).fetch_optional(c).await)
}

/// Pending requests, and the others asked for since `since`, newest first.
pub async fn recent(db: &Db, since: Millis) -> Result<Vec<RequestRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM operator_requests \
         WHERE status = 'pending' OR requested_at >= $1 ORDER BY requested_at DESC LIMIT 200"
    );
    on_db!(db, c => sqlx::query_as::<_, RequestRow>(&sql).bind(since).fetch_all(c).await)
}

/// Decides a pending, unexpired request (`approved` or `cancelled`) by
/// this operator; false if it was not pending any more (someone else
/// decided it, or it expired), so it is decided exactly once.
pub async fn decide(
    tx: &mut Tx,
    id: Uuid,
    status: &str,
    by: (Uuid, &str),
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE operator_requests SET status = $2, decided_by = $3, decided_by_name = $4, decided_at = $5 \
         WHERE id = $1 AND status = 'pending' AND expires_at > $5")
        .bind(id).bind(status).bind(by.0).bind(by.1).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
