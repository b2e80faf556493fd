//! Brute-force throttling of password and key attempts that a stranger
//! cannot turn against the account's owner (OWASP "slow down online
//! guessing attacks with device cookies"; NIST SP 800-63B 5.2.2).
//!
//! Password attempts are counted before they are evaluated (one
//! conditional statement, [`crate::store::throttle::count`]), so however many
//! arrive at once no more are hashed than the counter allows. Key
//! assertions cost no hash and cannot be guessed: they are checked against
//! the counter first and counted when they fail, so a user's own concurrent
//! approvals never throttle each other. Both count against two scopes:
//! - the client address (`ip:`; IPv6 grouped by /64), and
//! - the account, split by who is answering: browsers the account has not
//!   signed in from share `acct:<name>`; a browser with a valid device cookie
//!   for the account has its own `dev:<name>:<device>`; assertions a service
//!   forwards in API mode count against `api:<name>`, never the service's
//!   address. A stranger can exhaust `acct:` but not the owner's browser.
//!
//! After `free` failures a scope backs off (1 s, 2 s, 4 s, … up to the
//! maximum); at `lock_after` it is refused for `failure_window_minutes`.
//! Failures older than that window are forgotten: nothing locks for good.

use std::net::IpAddr;

use uuid::Uuid;

use crate::caller::Client;
use crate::clock::Millis;
use crate::db::Tx;
use crate::domain::audit::{AuditEvent, Locked};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::throttle::{self, Schedule};
use crate::store::{audit, users};

/// Who answers for an account: a browser (with the device id of its valid
/// device cookie for this account, if it has one) or a service forwarding
/// the user's assertion (API mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A browser; `Some` when it has signed in to this account before.
    Browser(Option<Uuid>),
    /// A service's back end (API mode).
    Service,
}

impl Via {
    /// The browser `client`, trusted for `username` when its device cookie
    /// is valid for it.
    pub fn browser(app: &AppState, client: &Client, username: &str) -> Self {
        Self::Browser(
            client
                .device_cookie
                .as_deref()
                .and_then(|c| app.devices.verify(c, username)),
        )
    }
}

/// The throttling scope of a client address: the address, or its /64 for
/// IPv6 (one subscriber usually holds a whole /64).
pub fn ip_scope(ip: &str) -> String {
    format!("ip:{}", address_group(ip))
}

/// A client address as throttling groups it: IPv4 (also mapped into IPv6)
/// as is, IPv6 by its /64.
fn address_group(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|a| a.to_canonical()) {
        Ok(IpAddr::V6(v6)) => match ipnet::Ipv6Net::new(v6, 64) {
            Ok(net) => net.trunc().to_string(),
            Err(_) => v6.to_string(),
        },
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// An attempt counted against its scopes; give it back on success.
#[derive(Debug)]
#[must_use = "an attempt is a failure unless given back"]
pub struct Attempt {
    taken: Vec<(String, Schedule, i64)>,
    /// Checked before, counted only if the attempt fails: the address
    /// scope of a password attempt (many people may sign in at once from
    /// one address, and their in-flight attempts must not add up).
    on_failure: Vec<(String, Schedule)>,
}

/// A failed attempt, counted; [`audit_failure`] records what it locked.
#[derive(Debug)]
#[must_use = "audit the failure"]
pub struct Failure {
    locked: Option<(String, i64)>,
}

impl Attempt {
    /// The attempt failed: it stays counted, and the scopes it was only
    /// checked against count it now. Call before opening the transaction
    /// that audits it (SQLite: one write turn at a time).
    pub async fn failed(mut self, app: &AppState) -> ApiResult<Failure> {
        let now = app.clock.now();
        for (key, rule) in std::mem::take(&mut self.on_failure) {
            if let Ok(n) = take_one(app, &key, rule, now, true).await? {
                self.taken.push((key, rule, n));
            }
        }
        let locked = self.taken.iter().find_map(|(k, rule, n)| {
            let kind = k.split(':').next().unwrap_or(k);
            (rule.lock_after == *n).then(|| (kind.to_owned(), *n))
        });
        Ok(Failure { locked })
    }

    /// The attempt succeeded (or was not evaluated): it no longer counts.
    pub async fn give_back(self, app: &AppState) -> ApiResult<()> {
        for (key, rule, _) in &self.taken {
            throttle::give_back(&app.db, key, rule.free).await?;
        }
        Ok(())
    }

    /// As [`Self::give_back`], then returns `err`: for errors that end an
    /// attempt before it was evaluated.
    pub async fn abandon(self, app: &AppState, err: ApiError) -> ApiError {
        match self.give_back(app).await {
            Ok(()) => err,
            Err(e) => e,
        }
    }
}

fn account_rule(app: &AppState) -> Schedule {
    let t = &app.config.throttle;
    Schedule {
        free: t.free_failures,
        lock_after: t.lock_after,
        window_ms: crate::clock::millis(t.failure_window),
        max_backoff_ms: crate::clock::millis(t.max_backoff),
    }
}

fn ip_rule(app: &AppState, free: i64) -> Schedule {
    Schedule {
        free,
        lock_after: i64::MAX,
        ..account_rule(app)
    }
}

/// The key of an account scope.
pub fn account_scope(username: &str, via: Via) -> String {
    match via {
        Via::Browser(None) => format!("acct:{username}"),
        Via::Browser(Some(device)) => format!("dev:{username}:{}", device.simple()),
        Via::Service => format!("api:{username}"),
    }
}

/// Every account-scope key of `username` starts with one of these.
pub fn account_prefixes(username: &str) -> [String; 3] {
    [
        format!("acct:{username}"),
        format!("dev:{username}:"),
        format!("api:{username}"),
    ]
}

/// The refusal of an attempt on a scope blocked until `until` (`locked`:
/// it reached `lock_after`), counted in the metrics.
fn refusal(now: Millis, until: Millis, locked: bool) -> ApiError {
    crate::metrics::throttled(if locked { "locked" } else { "backoff" });
    let retry_after = u64::try_from((until - now + 999) / 1000)
        .unwrap_or(1)
        .max(1);
    ApiError::Throttled { retry_after }
}

/// Counts one attempt against `key`, unless it is blocked (`Err` with the
/// refusal), or — `force`, for a failure already evaluated — even then.
async fn take_one(
    app: &AppState,
    key: &str,
    rule: Schedule,
    now: Millis,
    force: bool,
) -> ApiResult<Result<i64, ApiError>> {
    if let Some(n) = throttle::count(&app.db, key, now, rule, force).await? {
        return Ok(Ok(n));
    }
    let counter = throttle::get(&app.db, key).await?;
    let locked = counter.is_some_and(|c| c.failures >= rule.lock_after);
    let until = counter.map_or(now, |c| c.blocked_until);
    Ok(Err(refusal(now, until, locked)))
}

/// Counts an attempt against every scope, in order, or none of them (a
/// refused scope gives back those already counted).
async fn take_all(
    app: &AppState,
    scopes: Vec<(String, Schedule)>,
    force: bool,
) -> ApiResult<Attempt> {
    let now = app.clock.now();
    let mut attempt = Attempt {
        taken: Vec::new(),
        on_failure: Vec::new(),
    };
    for (key, rule) in scopes {
        match take_one(app, &key, rule, now, force).await? {
            Ok(n) => attempt.taken.push((key, rule, n)),
            Err(refused) => return Err(attempt.abandon(app, refused).await),
        }
    }
    Ok(attempt)
}

/// Refuses while any of `scopes` (at most two: the address and the
/// account) is blocked; counts nothing. One query.
async fn check_scopes(app: &AppState, scopes: &[(String, Schedule)]) -> ApiResult<()> {
    let now = app.clock.now();
    let counters = match scopes {
        [] => return Ok(()),
        [(only, _)] => [throttle::get(&app.db, only).await?, None],
        [(first, _), (second, _), ..] => {
            let (a, b) = throttle::get_both(&app.db, first, second).await?;
            [a, b]
        }
    };
    for ((_, rule), counter) in scopes.iter().zip(counters) {
        if let Some(c) = counter
            && c.blocked_until > now
        {
            return Err(refusal(now, c.blocked_until, c.failures >= rule.lock_after));
        }
    }
    Ok(())
}

fn scopes_of(
    app: &AppState,
    username: &str,
    via: Via,
    ip: Option<&str>,
) -> Vec<(String, Schedule)> {
    let mut scopes = Vec::with_capacity(2);
    if let Some(ip) = ip {
        scopes.push((
            ip_scope(ip),
            ip_rule(app, app.config.throttle.ip_free_failures),
        ));
    }
    scopes.push((account_scope(username, via), account_rule(app)));
    scopes
}

/// Counts an attempt at `username`'s password, answered `via` from client
/// address `ip` (`None`: unknown), against the account scope; the address
/// is checked now and counted if the attempt fails. Refused (429 with
/// Retry-After) while either scope is blocked.
pub async fn reserve(
    app: &AppState,
    username: &str,
    via: Via,
    ip: Option<&str>,
) -> ApiResult<Attempt> {
    let mut scopes = scopes_of(app, username, via, ip);
    let account = scopes.split_off(scopes.len() - 1);
    // The address only checked here; the account scope's own counting
    // statement refuses a blocked account.
    check_scopes(app, &scopes).await?;
    let mut attempt = take_all(app, account, false).await?;
    attempt.on_failure = scopes;
    Ok(attempt)
}

/// Refuses (429 with Retry-After) a key assertion while either scope is
/// blocked; counts nothing.
pub async fn check(app: &AppState, username: &str, via: Via, ip: Option<&str>) -> ApiResult<()> {
    check_scopes(app, &scopes_of(app, username, via, ip)).await
}

/// Counts a key assertion that failed (blocked or not: it was evaluated).
pub async fn count_failure(
    app: &AppState,
    username: &str,
    via: Via,
    ip: Option<&str>,
) -> ApiResult<Attempt> {
    take_all(app, scopes_of(app, username, via, ip), true).await
}

/// Counts a sign-in with a username that cannot exist, against the address.
pub async fn reserve_guess(app: &AppState, ip: &str) -> ApiResult<Attempt> {
    let rule = ip_rule(app, app.config.throttle.ip_free_failures);
    take_all(app, vec![(ip_scope(ip), rule)], false).await
}

/// Counts a sign-up from `ip` (sign-ups are never given back).
pub async fn reserve_sign_up(app: &AppState, ip: &str) -> ApiResult<Attempt> {
    let rule = ip_rule(app, app.config.throttle.signups_per_ip);
    let key = format!("signup:{}", address_group(ip));
    take_all(app, vec![(key, rule)], false).await
}

/// Audits (inside `tx`) the lock a failure reached, if it reached one.
pub async fn audit_failure(
    app: &AppState,
    tx: &mut Tx,
    failure: Failure,
    user_id: Option<Uuid>,
    ip: Option<&str>,
) -> ApiResult<()> {
    if let Some((scope, failures)) = failure.locked {
        let minutes = app.config.throttle.failure_window.as_secs() / 60;
        let event = audit::Event {
            user_id,
            event: AuditEvent::AccountLocked(Locked::Throttle {
                failures,
                scope,
                minutes,
            }),
            ip,
        };
        audit::append(tx, &event, app.clock.now()).await?;
    }
    Ok(())
}

/// Clears the failures of the account scope the attempt used, after a
/// complete sign-in.
pub async fn reset_account(tx: &mut Tx, attempt_key: &str) -> ApiResult<()> {
    Ok(throttle::reset(tx, attempt_key).await?)
}

/// Refuses a locked account (operator lock): checked once the password or
/// key has proven who is asking, so strangers learn nothing of it.
pub async fn refuse_if_locked(app: &AppState, user_id: Uuid) -> ApiResult<()> {
    if users::locked_at(&app.db, user_id).await?.is_some() {
        crate::metrics::throttled("account_locked");
        return Err(ApiError::AccountLocked);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_free_failures_and_caps() {
        let s = Schedule {
            free: 5,
            lock_after: i64::MAX,
            window_ms: 0,
            max_backoff_ms: 900_000,
        };
        assert_eq!(s.wait_after(5), 0);
        assert_eq!(s.wait_after(6), 1000);
        assert_eq!(s.wait_after(7), 2000);
        assert_eq!(s.wait_after(9), 8000);
        assert_eq!(s.wait_after(99), 900_000);
    }

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(ip_scope("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(ip_scope("2001:db8:1:2:bbbb::9"), "ip:2001:db8:1:2::/64");
        assert_ne!(ip_scope("2001:db8:1:3::1"), ip_scope("2001:db8:1:2::1"));
        assert_eq!(ip_scope("::ffff:192.0.2.7"), "ip:192.0.2.7");
        assert_eq!(ip_scope("192.0.2.7"), "ip:192.0.2.7");
    }

    #[test]
    fn a_lock_lasts_the_window_and_no_longer() {
        let rule = Schedule {
            free: 2,
            lock_after: 4,
            window_ms: 60_000,
            max_backoff_ms: 900_000,
        };
        assert_eq!(rule.wait_after(2), 0);
        assert_eq!(rule.wait_after(3), 1000);
        assert_eq!(rule.wait_after(4), 60_000);
    }
}
