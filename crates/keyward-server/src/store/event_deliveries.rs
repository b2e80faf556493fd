//! Where push delivery of security events stands per webhook endpoint
//! (see `migrations/*/0017_event_deliveries.sql`).

use sqlx::FromRow;

use crate::clock::Millis;
use crate::db::{Db, on_db};

/// One endpoint's delivery state.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    /// The endpoint's URL.
    pub endpoint: String,
    /// The last audit position delivered (or skipped as not an event).
    pub delivered_seq: i64,
    /// The instance delivering to it now.
    pub lease_owner: Option<String>,
    /// Until when.
    pub lease_until: Millis,
    /// Consecutive failures.
    pub attempts: i64,
    /// No attempt before.
    pub next_attempt_at: Millis,
    /// The last attempt.
    pub last_attempt_at: Option<Millis>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

const COLUMNS: &str = "endpoint, delivered_seq, lease_owner, lease_until, attempts, \
                       next_attempt_at, last_attempt_at, last_error";

/// Starts tracking `endpoint` from `seq` (events after it are sent), unless
/// it is tracked already.
pub async fn ensure(db: &Db, endpoint: &str, seq: i64) -> Result<(), sqlx::Error> {
    on_db!(db, c => sqlx::query(
        "INSERT INTO event_deliveries (endpoint, delivered_seq) VALUES ($1, $2) \
         ON CONFLICT (endpoint) DO NOTHING")
        .bind(endpoint).bind(seq).execute(c).await.map(|_| ()))
}

/// Takes (or keeps) the lease on `endpoint` for `owner` until `until`, if
/// no other instance holds it at `now`; the row if it did.
pub async fn lease(
    db: &Db,
    endpoint: &str,
    owner: &str,
    now: Millis,
    until: Millis,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE event_deliveries SET lease_owner = $2, lease_until = $4 \
         WHERE endpoint = $1 AND (lease_owner = $2 OR lease_owner IS NULL OR lease_until < $3) \
         RETURNING {COLUMNS}"
    );
    on_db!(db, c => sqlx::query_as::<_, DeliveryRow>(&sql)
        .bind(endpoint).bind(owner).bind(now).bind(until).fetch_optional(c).await)
}

/// Records that everything up to `seq` was delivered by `owner` (still the
/// lease holder), renewing the lease until `lease_until`; false if the
/// lease was lost meanwhile.
pub async fn delivered(
    db: &Db,
    endpoint: &str,
    owner: &str,
    seq: i64,
    now: Millis,
    lease_until: Millis,
) -> Result<bool, sqlx::Error> {
    let n = on_db!(db, c => sqlx::query(
        "UPDATE event_deliveries SET delivered_seq = $3, attempts = 0, next_attempt_at = 0, \
         last_attempt_at = $4, last_error = NULL, lease_until = $5 \
         WHERE endpoint = $1 AND lease_owner = $2 AND delivered_seq <= $3")
        .bind(endpoint).bind(owner).bind(seq).bind(now).bind(lease_until)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Records a failed attempt; no new attempt before `next_at`.
pub async fn failed(
    db: &Db,
    endpoint: &str,
    owner: &str,
    error: &str,
    now: Millis,
    next_at: Millis,
) -> Result<(), sqlx::Error> {
    on_db!(db, c => sqlx::query(
        "UPDATE event_deliveries SET attempts = attempts + 1, next_attempt_at = $5, \
         last_attempt_at = $4, last_error = $3 WHERE endpoint = $1 AND lease_owner = $2")
        .bind(endpoint).bind(owner).bind(error).bind(now).bind(next_at)
        .execute(c).await.map(|_| ()))
}

/// One endpoint's state, if it is tracked.
pub async fn get(db: &Db, endpoint: &str) -> Result<Option<DeliveryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM event_deliveries WHERE endpoint = $1");
    on_db!(db, c => sqlx::query_as::<_, DeliveryRow>(&sql).bind(endpoint).fetch_optional(c).await)
}

/// Every tracked endpoint.
pub async fn all(db: &Db) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM event_deliveries ORDER BY endpoint");
    on_db!(db, c => sqlx::query_as::<_, DeliveryRow>(&sql).fetch_all(c).await)
}

/// Sends `endpoint` everything after `seq` again (a replay); false if it is
/// not tracked.
pub async fn rewind(db: &Db, endpoint: &str, seq: i64) -> Result<bool, sqlx::Error> {
    let n = on_db!(db, c => sqlx::query(
        "UPDATE event_deliveries SET delivered_seq = $2, attempts = 0, next_attempt_at = 0, \
         last_error = NULL WHERE endpoint = $1")
        .bind(endpoint).bind(seq).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
