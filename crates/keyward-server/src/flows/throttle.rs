//! Brute-force throttling of password and key attempts, per account and per
//! client IP, with exponential backoff and a lock after too many consecutive
//! account failures. Counters live in the database (shared by instances).

use serde_json::json;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{audit, throttle};

/// IP failure counts older than this start again from zero.
const IP_MEMORY_MS: Millis = 60 * 60 * 1000;

/// Backoff after `failures` consecutive failures: none for the first `free`,
/// then 1 s, 2 s, 4 s, … up to `max_seconds`.
pub fn backoff_ms(failures: i64, free: i64, max_seconds: i64) -> Millis {
    if failures <= free {
        return 0;
    }
    let doublings = u32::try_from((failures - free - 1).clamp(0, 30)).unwrap_or(30);
    (1000_i64 << doublings).min(max_seconds.saturating_mul(1000))
}

fn account_key(username: &str) -> String {
    format!("acct:{username}")
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Refuses the attempt if the account is locked or either counter is in backoff.
pub async fn check(app: &AppState, username: &str, ip: &str) -> ApiResult<()> {
    let now = app.clock.now();
    let (account, ip_counter) =
        throttle::get_both(&app.db, &account_key(username), &ip_key(ip)).await?;
    if account.is_some_and(|c| c.failures >= app.config.throttle.lock_after) {
        crate::metrics::throttled("account_locked");
        return Err(ApiError::Locked);
    }
    let blocked_until = [account, ip_counter]
        .into_iter()
        .flatten()
        .map(|c| c.blocked_until)
        .max()
        .unwrap_or(0);
    if blocked_until > now {
        let retry_after = u64::try_from((blocked_until - now + 999) / 1000).unwrap_or(1);
        crate::metrics::throttled("backoff");
        return Err(ApiError::Throttled { retry_after });
    }
    Ok(())
}

/// Counts a failed attempt against the account and the IP (inside `tx`), and
/// audits the lock when the account reaches the limit.
pub async fn record_failure(
    app: &AppState,
    tx: &mut Tx,
    username: &str,
    user_id: Option<Uuid>,
    ip: &str,
) -> ApiResult<()> {
    let now = app.clock.now();
    let t = &app.config.throttle;
    let failures = throttle::record_failure(tx, &account_key(username), now, None, |n| {
        backoff_ms(n, t.free_failures, t.max_backoff_seconds)
    })
    .await?;
    throttle::record_failure(tx, &ip_key(ip), now, Some(now - IP_MEMORY_MS), |n| {
        backoff_ms(n, t.ip_free_failures, t.max_backoff_seconds)
    })
    .await?;
    if failures == t.lock_after {
        let event = audit::Event {
            user_id,
            event: "account.locked",
            detail: json!({ "failures": failures }),
            ip: Some(ip),
        };
        audit::append(tx, &event, now).await?;
    }
    Ok(())
}

/// Clears the account's failures after a complete sign-in.
pub async fn reset_account(tx: &mut Tx, username: &str) -> ApiResult<()> {
    Ok(throttle::reset(tx, &account_key(username)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_free_failures_and_caps() {
        assert_eq!(backoff_ms(5, 5, 900), 0);
        assert_eq!(backoff_ms(6, 5, 900), 1000);
        assert_eq!(backoff_ms(7, 5, 900), 2000);
        assert_eq!(backoff_ms(9, 5, 900), 8000);
        assert_eq!(backoff_ms(99, 5, 900), 900_000);
    }
}
