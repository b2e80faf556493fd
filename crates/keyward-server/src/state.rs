//! The application state shared by all handlers: built once at start-up
//! from typed config, no globals.

use std::sync::Arc;

use keyward_access::PasswordHasher;
use keyward_fido::Fido;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the state holds.
pub struct Inner {
    /// Configuration in force.
    pub config: Config,
    /// Database pool.
    pub db: Db,
    /// WebAuthn relying party.
    pub fido: Fido,
    /// Password hashing on a bounded blocking pool.
    pub passwords: Passwords,
    /// Time source.
    pub clock: Clock,
    /// API-key verification cache and failure limits.
    pub verifier: crate::flows::key_verify::Verifier,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The withdrawal hold after a security change, in milliseconds.
    pub fn hold_ms(&self) -> crate::clock::Millis {
        i64::try_from(self.config.withdrawals.hold_hours)
            .unwrap_or(24)
            .saturating_mul(3_600_000)
    }

    /// Wraps the parts.
    pub fn new(config: Config, db: Db, fido: Fido, passwords: Passwords, clock: Clock) -> Self {
        let keys = &config.api_keys;
        let verifier = crate::flows::key_verify::Verifier::new(
            keys.failures_per_minute_ip,
            keys.failures_per_minute_prefix,
        );
        Self(Arc::new(Inner {
            config,
            db,
            fido,
            passwords,
            clock,
            verifier,
        }))
    }
}

/// argon2id off the async runtime: each hash runs on the blocking pool, and a
/// semaphore bounds how many run at once so a flood of sign-ins queues
/// instead of exhausting memory (19 MiB each by default).
#[derive(Clone)]
pub struct Passwords {
    hasher: PasswordHasher,
    permits: Arc<Semaphore>,
}

impl Passwords {
    /// At most `concurrency` hashes at once.
    pub fn new(hasher: PasswordHasher, concurrency: usize) -> Self {
        Self {
            hasher,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Hashes a new password (checking the length policy).
    pub async fn hash(&self, password: SecretString) -> ApiResult<String> {
        let hasher = self.hasher.clone();
        let result = self.run(move || hasher.hash(&password)).await?;
        result.map_err(|e| match e {
            keyward_access::PasswordError::TooShort | keyward_access::PasswordError::TooLong => {
                ApiError::invalid("password", e.to_string())
            }
            other => ApiError::Internal(other.into()),
        })
    }

    /// Verifies a password; `stored == None` burns the same time and fails.
    pub async fn verify(&self, stored: Option<String>, password: SecretString) -> ApiResult<bool> {
        let hasher = self.hasher.clone();
        self.run(move || hasher.verify(stored.as_deref(), &password))
            .await
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ApiError::Internal(e.into()))
    }
}
