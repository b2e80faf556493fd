//! Failure counters for brute-force throttling, in the database so every
//! instance sees the same counts (architecture §6, invariant 8).

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::{on_db, on_tx};

/// Counter state of one scope (`acct:<name>` or `ip:<addr>`).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Counter {
    /// Consecutive failures.
    pub failures: i64,
    /// Last failure.
    pub last_failure_at: Millis,
    /// No attempt is accepted before this instant.
    pub blocked_until: Millis,
}

/// Current counter of a scope, if any.
pub async fn get(db: &Db, key: &str) -> Result<Option<Counter>, sqlx::Error> {
    on_db!(db, c => sqlx::query_as::<_, Counter>(
        "SELECT failures, last_failure_at, blocked_until FROM throttle WHERE scope_key = $1")
        .bind(key).fetch_optional(c).await)
}

/// The counters of two scopes in one query (an account and an address).
pub async fn get_both(
    db: &Db,
    first: &str,
    second: &str,
) -> Result<(Option<Counter>, Option<Counter>), sqlx::Error> {
    let rows: Vec<(String, i64, Millis, Millis)> = on_db!(db, c => sqlx::query_as(
        "SELECT scope_key, failures, last_failure_at, blocked_until FROM throttle WHERE scope_key IN ($1, $2)")
        .bind(first).bind(second).fetch_all(c).await)?;
    let counter_of = |key: &str| {
        rows.iter().find(|r| r.0 == key).map(|r| Counter {
            failures: r.1,
            last_failure_at: r.2,
            blocked_until: r.3,
        })
    };
    Ok((counter_of(first), counter_of(second)))
}

/// Counts one failure and sets the block computed by `block_for(failures)`
/// (milliseconds). Returns the new failure count. `reset_before`: a previous
/// failure older than this no longer counts (IP counters decay).
pub async fn record_failure(
    tx: &mut Tx,
    key: &str,
    now: Millis,
    reset_before: Option<Millis>,
    block_for: impl Fn(i64) -> Millis,
) -> Result<i64, sqlx::Error> {
    let reset_before = reset_before.unwrap_or(i64::MIN);
    let failures = on_tx!(tx, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO throttle (scope_key, failures, last_failure_at, blocked_until) VALUES ($1, 1, $2, 0) \
         ON CONFLICT (scope_key) DO UPDATE SET \
           failures = CASE WHEN throttle.last_failure_at < $3 THEN 1 ELSE throttle.failures + 1 END, \
           last_failure_at = $2 \
         RETURNING failures")
        .bind(key).bind(now).bind(reset_before).fetch_one(c).await)?;
    let until = now.saturating_add(block_for(failures));
    on_tx!(tx, c => sqlx::query("UPDATE throttle SET blocked_until = $1 WHERE scope_key = $2")
        .bind(until).bind(key).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(failures)
}

/// Clears a scope's failures (after a success, or an operator unlock).
pub async fn reset(tx: &mut Tx, key: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("DELETE FROM throttle WHERE scope_key = $1").bind(key).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
