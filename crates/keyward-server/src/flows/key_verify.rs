//! The gateway's hot path: verifying a presented API key. Malformed keys are
//! refused by their checksum without a database query; known keys are
//! cached by hash; every instance drops its cache when the shared revocation
//! epoch moves (polled every 250 ms), so a revocation is in force everywhere
//! within a second. Failed verifications are rate-limited per client IP and
//! per key prefix; last-used times are written in batches.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use keyward_access::token::{self, TokenKind};
use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::service_keys::ServiceKeyRow;
use crate::store::{api_keys, users};

/// A key as the verifier needs it, parsed once.
#[derive(Debug, Clone)]
pub struct CachedKey {
    /// Key id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Display prefix.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Allowed client networks (empty = any).
    pub networks: Vec<ipnet::IpNet>,
    /// Expiry.
    pub expires_at: Option<Millis>,
    /// Revoked.
    pub revoked: bool,
    /// The owner froze the account.
    pub user_frozen: bool,
}

/// Why a key was refused. The gateway learns the reason, nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong prefix, length, alphabet or checksum.
    Malformed,
    /// No such key.
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// The requested scope is not granted.
    ScopeNotGranted,
    /// The client address is not on the key's allow-list.
    IpNotAllowed,
    /// The owner froze the account (or the operator locked it).
    UserFrozen,
    /// `withdraw` scope while the operator froze all withdrawals.
    WithdrawalsFrozen,
    /// `withdraw` scope while the owner's withdrawals are held (after a
    /// security change).
    Held,
}

impl Refusal {
    /// Stable reason code.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::ScopeNotGranted => "scope_not_granted",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::UserFrozen => "user_frozen",
            Self::WithdrawalsFrozen => "withdrawals_frozen",
            Self::Held => "held",
        }
    }
}

/// Per-instance verifier state.
pub struct Verifier {
    cache: Cache<[u8; 32], Arc<CachedKey>>,
    /// Service keys by token hash: every service request authenticates, so
    /// this is on every hot path too. Dropped with the API-key cache.
    services: Cache<[u8; 32], Arc<ServiceKeyRow>>,
    /// Bumped (under the write lock) by every clear. A look-up that started
    /// before a clear must not insert what it read: it may be pre-revocation.
    generation: AtomicU64,
    clearing: RwLock<()>,
    epoch: AtomicI64,
    /// Database look-ups made by the verifier (a test hook: a malformed key must not make one).
    pub lookups: AtomicU64,
    last_used: Mutex<HashMap<Uuid, Millis>>,
    failures_by_ip: DefaultKeyedRateLimiter<String>,
    failures_by_prefix: DefaultKeyedRateLimiter<String>,
    blocked: Mutex<HashMap<String, Instant>>,
}

/// How long a scope stays blocked after it ran out of failures.
const BLOCK: Duration = Duration::from_secs(60);

impl Verifier {
    /// A verifier allowing `ip_per_minute` failures per client IP and
    /// `prefix_per_minute` per key prefix.
    pub fn new(ip_per_minute: u32, prefix_per_minute: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            cache: Cache::new(100_000),
            services: Cache::new(1_000),
            generation: AtomicU64::new(0),
            clearing: RwLock::new(()),
            epoch: AtomicI64::new(i64::MIN),
            lookups: AtomicU64::new(0),
            last_used: Mutex::new(HashMap::new()),
            failures_by_ip: RateLimiter::keyed(quota(ip_per_minute)),
            failures_by_prefix: RateLimiter::keyed(quota(prefix_per_minute)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Drops every cached key (after a revocation here or elsewhere).
    pub fn invalidate(&self) {
        let _guard = self
            .clearing
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.clear();
        self.services.clear();
    }

    /// Caches `key` only if no clear happened since `generation` was read.
    fn insert_if_current(&self, hash: [u8; 32], key: Arc<CachedKey>, generation: u64) {
        let _guard = self
            .clearing
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation.load(Ordering::SeqCst) == generation {
            self.cache.insert(hash, key);
        }
    }

    /// Drops the cache if the shared epoch moved. Returns whether it did.
    pub fn observe_epoch(&self, epoch: i64) -> bool {
        let previous = self.epoch.swap(epoch, Ordering::SeqCst);
        if previous != epoch {
            self.invalidate();
        }
        previous != epoch
    }

    fn blocked_for(&self, scopes: &[String]) -> Option<u64> {
        let now = Instant::now();
        let blocked = self.blocked.lock().ok()?;
        scopes
            .iter()
            .filter_map(|s| blocked.get(s))
            .filter(|until| **until > now)
            .map(|until| until.duration_since(now).as_secs().max(1))
            .max()
    }

    fn record_failure(&self, ip_scope: &str, prefix_scope: Option<&str>) {
        let mut exhausted = Vec::new();
        if self.failures_by_ip.check_key(&ip_scope.to_owned()).is_err() {
            exhausted.push(ip_scope.to_owned());
        }
        if let Some(p) = prefix_scope
            && self.failures_by_prefix.check_key(&p.to_owned()).is_err()
        {
            exhausted.push(p.to_owned());
        }
        if !exhausted.is_empty()
            && let Ok(mut blocked) = self.blocked.lock()
        {
            let until = Instant::now() + BLOCK;
            blocked.retain(|_, t| *t > Instant::now());
            for scope in exhausted {
                blocked.insert(scope, until);
            }
        }
    }

    /// Forgets failure counts and blocks that no longer matter, so strangers
    /// sending ever-new addresses or prefixes cannot grow the maps for good.
    pub fn prune(&self) {
        self.failures_by_ip.retain_recent();
        self.failures_by_prefix.retain_recent();
        self.failures_by_ip.shrink_to_fit();
        self.failures_by_prefix.shrink_to_fit();
        if let Ok(mut blocked) = self.blocked.lock() {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            blocked.shrink_to_fit();
        }
    }

    /// Counters kept: (IP limiter, prefix limiter, blocks). For tests.
    pub fn tracked(&self) -> (usize, usize, usize) {
        let blocked = self.blocked.lock().map(|b| b.len()).unwrap_or(0);
        (
            self.failures_by_ip.len(),
            self.failures_by_prefix.len(),
            blocked,
        )
    }

    /// Takes the batched last-used times.
    pub fn drain_last_used(&self) -> Vec<(Uuid, Millis)> {
        self.last_used
            .lock()
            .map(|mut m| m.drain().collect())
            .unwrap_or_default()
    }
}

/// The unrevoked service key with this token hash, cached like API keys:
/// a revocation (which bumps the shared epoch) empties the cache on every
/// instance within the poll interval.
pub async fn service_key(
    app: &AppState,
    hash: &token::TokenHash,
) -> ApiResult<Option<Arc<ServiceKeyRow>>> {
    let v = &app.verifier;
    if let Some(hit) = v.services.get(hash.as_bytes()) {
        return Ok(Some(hit));
    }
    let generation = v.generation.load(Ordering::SeqCst);
    let Some(row) = crate::store::service_keys::by_hash(&app.db, hash.as_bytes()).await? else {
        return Ok(None);
    };
    let row = Arc::new(row);
    let _guard = v
        .clearing
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if v.generation.load(Ordering::SeqCst) == generation {
        v.services.insert(*hash.as_bytes(), row.clone());
    }
    Ok(Some(row))
}

/// Why withdrawals of `user_id` are paused at `now`, if they are: the
/// operator's freeze, the owner's freeze or lock, or a hold.
async fn withdraw_paused(app: &AppState, user_id: Uuid, now: Millis) -> ApiResult<Option<Refusal>> {
    let (global, _, _) = crate::store::controls::global_freeze_now(&app.db).await?;
    if global {
        return Ok(Some(Refusal::WithdrawalsFrozen));
    }
    let Some(policy) = users::policy_now(&app.db, user_id).await? else {
        return Ok(Some(Refusal::Unknown));
    };
    if policy.stopped() {
        return Ok(Some(Refusal::UserFrozen));
    }
    Ok(policy
        .hold_until
        .filter(|&t| t > now)
        .map(|_| Refusal::Held))
}

/// A successful verification.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The key.
    pub key: Arc<CachedKey>,
}

async fn load(app: &AppState, hash: &token::TokenHash) -> ApiResult<Option<Arc<CachedKey>>> {
    if let Some(hit) = app.verifier.cache.get(hash.as_bytes()) {
        return Ok(Some(hit));
    }
    let generation = app.verifier.generation.load(Ordering::SeqCst);
    app.verifier.lookups.fetch_add(1, Ordering::Relaxed);
    let Some(row) = api_keys::by_hash(&app.db, hash.as_bytes()).await? else {
        return Ok(None);
    };
    let frozen = users::policy_now(&app.db, row.user_id)
        .await?
        .is_some_and(|p| p.stopped());
    let ips: Vec<String> =
        serde_json::from_str(&row.ip_allowlist).map_err(|e| ApiError::Internal(e.into()))?;
    let mut networks = Vec::new();
    for ip in &ips {
        let net = crate::stepup::details::ip_network(ip)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored IP entry unparseable")))?;
        networks.push(net);
    }
    let key = Arc::new(CachedKey {
        id: row.id,
        user_id: row.user_id,
        prefix: row.prefix,
        scopes: row.scopes.split(' ').map(str::to_owned).collect(),
        networks,
        expires_at: row.expires_at,
        revoked: row.revoked_at.is_some(),
        user_frozen: frozen,
    });
    app.verifier
        .insert_if_current(*hash.as_bytes(), key.clone(), generation);
    Ok(Some(key))
}

/// Checks a presented key for `scope` from `client_ip`.
///
/// Failures are limited per client IP (every failure) and per key prefix
/// (well-formed tokens only: a typo or a made-up string says nothing about
/// the key whose prefix it shows). A blocked prefix never refuses the
/// genuine key: anyone can write a live key's public prefix in front of
/// wrong secrets, so such a block only hides why other tokens fail.
pub async fn verify(
    app: &AppState,
    presented: &str,
    scope: &str,
    client_ip: IpAddr,
) -> ApiResult<Result<Verified, (Refusal, Option<Arc<CachedKey>>)>> {
    let ip_scope = crate::flows::throttle::ip_scope(&client_ip.to_string());
    if let Some(retry_after) = app.verifier.blocked_for(std::slice::from_ref(&ip_scope)) {
        crate::metrics::throttled("api_key");
        return Err(ApiError::Throttled { retry_after });
    }
    let presented = presented.trim();
    let Ok(hash) = token::parse(TokenKind::ApiKey, presented) else {
        app.verifier.record_failure(&ip_scope, None);
        return Ok(Err((Refusal::Malformed, None)));
    };
    let prefix_scope = presented
        .get(..TokenKind::ApiKey.prefix().len() + token::DISPLAY_LEN)
        .map(|p| format!("prefix:{p}"));
    let refuse = |r: Refusal, key: Option<Arc<CachedKey>>| {
        let blocked = prefix_scope
            .as_ref()
            .and_then(|p| app.verifier.blocked_for(std::slice::from_ref(p)));
        app.verifier
            .record_failure(&ip_scope, prefix_scope.as_deref());
        match blocked {
            Some(retry_after) => {
                crate::metrics::throttled("api_key");
                Err(ApiError::Throttled { retry_after })
            }
            None => Ok(Err((r, key))),
        }
    };
    let Some(key) = load(app, &hash).await? else {
        return refuse(Refusal::Unknown, None);
    };
    let now = app.clock.now();
    let refusal = if key.revoked {
        Some(Refusal::Revoked)
    } else if key.expires_at.is_some_and(|t| t <= now) {
        Some(Refusal::Expired)
    } else if key.user_frozen {
        Some(Refusal::UserFrozen)
    } else if !key.scopes.iter().any(|s| s == scope) {
        Some(Refusal::ScopeNotGranted)
    } else if !key.networks.is_empty() && !key.networks.iter().any(|n| n.contains(&client_ip)) {
        Some(Refusal::IpNotAllowed)
    } else {
        None
    };
    if let Some(r) = refusal {
        return refuse(r, Some(key));
    }
    // A withdraw-scoped key moves money: the withdrawal policy in force
    // right now applies, read fresh (never from the cache). Not counted as
    // a failure: the key is genuine, the account is paused.
    if scope == "withdraw"
        && let Some(r) = withdraw_paused(app, key.user_id, now).await?
    {
        return Ok(Err((r, Some(key))));
    }
    if let Ok(mut uses) = app.verifier.last_used.lock() {
        uses.insert(key.id, now);
    }
    Ok(Ok(Verified { key }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strangers sending ever-new addresses and prefixes must not grow the
    /// limiter's maps for good: entries whose allowance has refilled go.
    #[test]
    fn prune_forgets_what_no_longer_limits() {
        // 60 000 a minute: one failure's allowance refills in a millisecond.
        let v = Verifier::new(60_000, 60_000);
        for i in 0..50 {
            v.record_failure(&format!("ip:192.0.2.{i}"), Some(&format!("prefix:p{i}")));
        }
        assert_eq!(v.tracked(), (50, 50, 0));
        std::thread::sleep(Duration::from_millis(50));
        v.prune();
        assert_eq!(v.tracked(), (0, 0, 0));
    }
}
