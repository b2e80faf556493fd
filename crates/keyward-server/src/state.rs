//! The application state shared by all handlers: built once at start-up
//! from typed config, no globals.

use std::sync::Arc;

use keyward_fido::Fido;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
pub use crate::passwords::Passwords;

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
    /// Password hashing on its own threads.
    pub passwords: Passwords,
    /// Time source.
    pub clock: Clock,
    /// API-key verification cache and failure limits.
    pub verifier: crate::verifier::Verifier,
    /// Device cookies (throttling that strangers cannot turn on the owner).
    pub devices: crate::device::Devices,
    /// Passkey sign-in ceremony handles.
    pub passkeys: crate::passkey_token::PasskeyTokens,
    /// Where the approval-signing keys are kept (outside the database).
    pub custody: crate::custody::Custody,
    /// GeoIP databases for the risk signals (empty if none configured).
    pub geo: crate::geo::Geo,
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
        crate::clock::millis(self.config.withdrawals.hold)
    }

    /// Wraps the parts.
    #[allow(clippy::too_many_arguments)] // one per part of the state
    pub fn new(
        config: Config,
        db: Db,
        fido: Fido,
        passwords: Passwords,
        clock: Clock,
        devices: crate::device::Devices,
        passkeys: crate::passkey_token::PasskeyTokens,
        custody: crate::custody::Custody,
        geo: crate::geo::Geo,
    ) -> Self {
        let keys = &config.api_keys;
        let verifier = crate::verifier::Verifier::new(
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
            devices,
            passkeys,
            custody,
            geo,
        }))
    }
}
