//! The per-instance state of API-key and service-key verification (the flow
//! is `flows::api_keys::verify`): known keys cached by hash, dropped on
//! every instance when the shared revocation epoch moves (polled every
//! 250 ms), so a revocation is in force everywhere within a second; failed
//! verifications rate-limited per client IP and per key prefix; last-used
//! times collected for batched writes.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::clock::Millis;
use crate::store::service_keys::ServiceKeyRow;

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

/// Per-instance verifier state.
pub struct Verifier {
    pub(crate) cache: Cache<[u8; 32], Arc<CachedKey>>,
    /// Service keys by token hash: every service request authenticates, so
    /// this is on every hot path too. Dropped with the API-key cache.
    pub(crate) services: Cache<[u8; 32], Arc<ServiceKeyRow>>,
    /// Bumped (under the write lock) by every clear. A look-up that started
    /// before a clear must not insert what it read: it may be pre-revocation.
    pub(crate) generation: AtomicU64,
    pub(crate) clearing: RwLock<()>,
    epoch: AtomicI64,
    /// Database look-ups made by the verifier (a test hook: a malformed key must not make one).
    pub lookups: AtomicU64,
    pub(crate) last_used: Mutex<HashMap<Uuid, Millis>>,
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
    pub(crate) fn insert_if_current(&self, hash: [u8; 32], key: Arc<CachedKey>, generation: u64) {
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

    pub(crate) fn blocked_for(&self, scopes: &[String]) -> Option<u64> {
        let now = Instant::now();
        let blocked = self.blocked.lock().ok()?;
        scopes
            .iter()
            .filter_map(|s| blocked.get(s))
            .filter(|until| **until > now)
            .map(|until| until.duration_since(now).as_secs().max(1))
            .max()
    }

    pub(crate) fn record_failure(&self, ip_scope: &str, prefix_scope: Option<&str>) {
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
