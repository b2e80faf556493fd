//! Attempt counters for brute-force throttling, in the database so every
//! instance sees the same counts (architecture §6, invariant 8).
//!
//! An attempt is counted *before* it is evaluated, by one conditional
//! statement that also sets the wait it earns ([`count`]); a success gives
//! it back ([`give_back`]). So however many requests arrive at once, on
//! however many instances, no more attempts are evaluated than the counter
//! allows.

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::db::{on_db, on_tx, relaxed};

/// Counter state of one scope (`acct:<name>`, `ip:<addr>`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Counter {
    /// Attempts counted (failures, and attempts still being evaluated).
    pub failures: i64,
    /// Last counted attempt.
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

/// The counters of two scopes in one query (an address and an account).
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

/// How a scope backs off: no wait for the first `free` attempts, then 1 s,
/// 2 s, 4 s, … up to `max_backoff_ms`; at `lock_after` attempts the scope is
/// refused for `window_ms`. Attempts older than `window_ms` (counted from
/// the latest) are forgotten.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Attempts before backoff starts.
    pub free: i64,
    /// Attempts at which the scope is refused for the window (`i64::MAX`: never).
    pub lock_after: i64,
    /// Memory of attempts, and the length of a lock, milliseconds.
    pub window_ms: Millis,
    /// Longest backoff, milliseconds.
    pub max_backoff_ms: Millis,
}

impl Schedule {
    /// The wait after `n` counted attempts, milliseconds. [`count`] computes
    /// the same in SQL.
    pub fn wait_after(&self, n: i64) -> Millis {
        if n >= self.lock_after {
            return self.window_ms;
        }
        if n <= self.free {
            return 0;
        }
        let doublings = u32::try_from((n - self.free - 1).clamp(0, 30)).unwrap_or(30);
        (1000_i64 << doublings).min(self.max_backoff_ms)
    }
}

/// Counts one attempt against `key` at `now` in one conditional statement,
/// unless the scope is blocked — or, with `force` (a failure already
/// evaluated), even then. Returns the new count, or `None` when blocked.
pub async fn count(
    db: &Db,
    key: &str,
    now: Millis,
    schedule: Schedule,
    force: bool,
) -> Result<Option<i64>, sqlx::Error> {
    // $1 key, $2 now, $3 forget attempts at or before this, $4 wait after a
    // first attempt, $5 free, $6 lock_after, $7 window, $8 max backoff,
    // $9 force. No wait leaves `blocked_until` as it was (0 or past): a
    // concurrent attempt whose clock read a millisecond earlier must not
    // find itself blocked by a wait of nothing. The count after this attempt is N below, written out where
    // it is used (SQL has no local names in an UPDATE).
    const N: &str =
        "(CASE WHEN throttle.last_failure_at > $3 THEN throttle.failures + 1 ELSE 1 END)";
    let shift = format!("(CAST(1000 AS BIGINT) << CAST({N} - $5 - 1 AS INTEGER))");
    let wait = format!(
        "(CASE WHEN {N} >= $6 THEN $7 WHEN {N} <= $5 THEN 0 WHEN {N} - $5 - 1 >= 30 THEN $8 \
              WHEN {shift} > $8 THEN $8 ELSE {shift} END)"
    );
    let sql = format!(
        "INSERT INTO throttle (scope_key, failures, last_failure_at, blocked_until) \
         VALUES ($1, 1, $2, CASE WHEN $4 = 0 THEN 0 ELSE $2 + $4 END) \
         ON CONFLICT (scope_key) DO UPDATE SET \
           failures = {N}, \
           last_failure_at = $2, \
           blocked_until = CASE WHEN {wait} = 0 OR throttle.blocked_until > $2 + {wait} \
                           THEN throttle.blocked_until ELSE $2 + {wait} END \
         WHERE throttle.blocked_until <= $2 OR $9 \
         RETURNING failures"
    );
    let forget_before = now.saturating_sub(schedule.window_ms);
    relaxed!(db, c => sqlx::query_scalar::<_, i64>(&sql)
        .bind(key).bind(now).bind(forget_before).bind(schedule.wait_after(1))
        .bind(schedule.free).bind(schedule.lock_after).bind(schedule.window_ms)
        .bind(schedule.max_backoff_ms).bind(force)
        .fetch_optional(c).await)
}

/// Gives back one counted attempt that succeeded (or was never evaluated).
/// Within its `free` attempts the scope is no longer blocked.
pub async fn give_back(db: &Db, key: &str, free: i64) -> Result<(), sqlx::Error> {
    relaxed!(db, c => sqlx::query(
        "UPDATE throttle SET failures = failures - 1, \
           blocked_until = CASE WHEN failures - 1 <= $2 THEN 0 ELSE blocked_until END \
         WHERE scope_key = $1 AND failures > 0")
        .bind(key).bind(free).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Clears a scope's failures (after a complete sign-in, or an operator unlock).
pub async fn reset(tx: &mut Tx, key: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("DELETE FROM throttle WHERE scope_key = $1").bind(key).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Clears every scope whose key starts with `prefix` (an operator unlock
/// clears an account's browsers and its API-mode scope too).
pub async fn reset_prefix(tx: &mut Tx, prefix: &str) -> Result<u64, sqlx::Error> {
    let pattern = format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_"));
    on_tx!(tx, c => sqlx::query("DELETE FROM throttle WHERE scope_key LIKE $1 ESCAPE '\\'")
        .bind(pattern).execute(c).await.map(|r| r.rows_affected()))
}

/// Deletes counters with nothing left to remember: last attempt before
/// `before` and no block in force at `now` (housekeeping).
pub async fn forget_old(db: &Db, before: Millis, now: Millis) -> Result<u64, sqlx::Error> {
    relaxed!(db, c => sqlx::query(
        "DELETE FROM throttle WHERE last_failure_at < $1 AND blocked_until <= $2")
        .bind(before).bind(now).execute(c).await.map(|r| r.rows_affected()))
}
