//! Assembling and serving the application: database, relying party,
//! password hashing, session layer, routes; graceful shutdown.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use keyward_access::{AnySessionStore, PasswordHasher, SessionSettings};
use keyward_fido::metadata::is_compromise;
use keyward_fido::{AttestationPolicy, Fido, ModelMetadata, RelyingParty, TrustedCa};
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;

use crate::clock::Clock;
use crate::config::{AttestationMode, Config};
use crate::db::{Db, DbOptions};
use crate::routes;
use crate::state::{AppState, Passwords};
use crate::store::ceremonies;

/// A built application: its state and its router, ready to serve.
pub struct App {
    /// Shared state (tests reach the database and clock through it).
    pub state: AppState,
    /// The router with every layer applied.
    pub router: Router,
    sessions: AnySessionStore,
}

/// Builds the attestation policy from config (reading CA files) and the
/// FIDO metadata in use.
pub fn attestation_policy(
    config: &Config,
    metadata: &[ModelMetadata],
) -> anyhow::Result<AttestationPolicy> {
    let a = &config.attestation;
    if a.policy == AttestationMode::Any {
        return Ok(AttestationPolicy::Any);
    }
    let mut extra = Vec::new();
    for ca in &a.extra_cas {
        let pem = std::fs::read(&ca.pem_file)
            .map_err(|e| anyhow::anyhow!("attestation CA file {}: {e}", ca.pem_file.display()))?;
        extra.push(TrustedCa {
            name: ca.pem_file.display().to_string(),
            pem,
            aaguids: ca.aaguids.clone(),
        });
    }
    Ok(AttestationPolicy::trusted(a.yubico, &extra, metadata)?)
}

/// What the FIDO metadata in use says, in one line for the log; a warning
/// when it is missing under `trusted` or past its `nextUpdate`.
async fn log_metadata(app: &AppState) -> anyhow::Result<Option<i64>> {
    let blob = crate::store::metadata::current(&app.db).await?;
    let trusted = app.config.attestation.policy == AttestationMode::Trusted;
    let Some(blob) = blob else {
        if trusted {
            tracing::warn!(
                "no FIDO metadata imported: only built-in and configured roots are trusted, and \
                 no compromised model is known (`keyward attestation import-mds FILE`)"
            );
        }
        return Ok(None);
    };
    let models = crate::store::metadata::models(&app.db).await?;
    let compromised = models
        .iter()
        .filter(|m| m.status.as_deref().is_some_and(is_compromise))
        .count();
    let when = crate::clock::rfc3339(blob.imported_at);
    if crate::flows::metadata::is_overdue(&blob.next_update, app.clock.now()) {
        tracing::warn!(
            no = blob.no, next_update = %blob.next_update,
            "FIDO metadata is past its nextUpdate: import a newer BLOB"
        );
    }
    tracing::info!(
        no = blob.no, models = models.len(), compromised, imported = %when,
        next_update = %blob.next_update, "FIDO metadata in use"
    );
    Ok(Some(blob.no))
}

/// What the attestation policy trusts, in one line for the start-up log.
pub fn trust_summary(config: &Config) -> String {
    let a = &config.attestation;
    if a.policy == AttestationMode::Any {
        return "attestation policy is `any`: every authenticator is accepted (development setting)"
            .into();
    }
    let mut parts = Vec::new();
    if a.yubico {
        use keyward_fido::attestation::{YUBICO_CAS, YUBIKEY_5_AAGUIDS};
        let names: Vec<&str> = YUBICO_CAS.iter().map(|ca| ca.name).collect();
        parts.push(format!(
            "Yubico's {} built-in certificates ({}) for {} YubiKey 5 models",
            names.len(),
            names.join(", "),
            YUBIKEY_5_AAGUIDS.len()
        ));
    }
    for ca in &a.extra_cas {
        parts.push(format!(
            "{} for {} model(s)",
            ca.pem_file.display(),
            ca.aaguids.len()
        ));
    }
    format!(
        "attestation policy is `trusted`: keys attested by {}",
        parts.join("; ")
    )
}

impl App {
    /// Connects to the database (applying migrations) and builds everything.
    /// `pg_schema`: on PostgreSQL, a schema of its own (tests); `None` is the
    /// server's default search path.
    pub async fn build(
        config: Config,
        clock: Clock,
        pg_schema: Option<String>,
    ) -> anyhow::Result<Self> {
        let rp = RelyingParty {
            id: config.rp_id.clone(),
            origin: config.origin.clone(),
            name: config.rp_name.clone(),
        };
        let db_opts = DbOptions {
            pg_schema,
            ..DbOptions::from(&config)
        };
        let db = Db::connect(&config.database_url(), &db_opts).await?;
        let metadata = crate::flows::metadata::models(&db).await?;
        let fido = Fido::new(&rp, attestation_policy(&config, &metadata)?)?;
        let hasher = PasswordHasher::new(config.password)?;
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let passwords = Passwords::new(hasher, cpus, config.throttle.hash_queue)?;
        let sessions = match &db {
            Db::Sqlite(sqlite) => sqlite.session_store(),
            Db::Postgres(pool) => {
                // Sessions live in the same schema as Keyward's tables (the
                // connection's current schema), so every instance configured
                // with the same database URL shares them.
                let schema = crate::db::current_schema(pool).await?;
                AnySessionStore::postgres(pool.clone(), Some(&schema))
                    .map_err(|e| anyhow::anyhow!(e))?
            }
        };
        sessions.migrate().await?;
        let custody = crate::signing::Custody::load(&config)?;
        crate::signing::ensure_key(&db, &custody, clock.now()).await?;
        let devices = shared_key(&db, custody.kek(), "device_mac").await?;
        let passkeys = shared_key(&db, custody.kek(), "passkey_mac").await?;
        let settings = SessionSettings {
            secure: config.is_https(),
            idle: config.session.idle,
        };
        let body_limit = config.max_body_bytes;
        let https = config.is_https();
        // Installed once per process; every app shares it.
        crate::metrics::handle();
        let devices = crate::device::Devices::new(devices, config.is_https());
        let passkeys = crate::passkey_token::PasskeyTokens::new(passkeys);
        let geo = crate::geo::Geo::open(
            config.risk.geoip_city.as_deref(),
            config.risk.geoip_asn.as_deref(),
        )?;
        let state = AppState::new(
            config, db, fido, passwords, clock, devices, passkeys, custody, geo,
        );
        // Keys enrolled before key chains existed start their user's chain.
        let adopted = crate::flows::key_chain::adopt_unchained(&state)
            .await
            .map_err(|e| anyhow::anyhow!("starting key chains: {e}"))?;
        if adopted > 0 {
            tracing::info!(users = adopted, "key chains started for existing keys");
        }
        let router = routes::router(state.clone())
            .layer(settings.layer(sessions.clone()))
            .layer(DefaultBodyLimit::max(body_limit))
            .layer(middleware::from_fn_with_state(
                https,
                crate::security_headers::security_headers,
            ))
            .layer(middleware::from_fn(crate::telemetry::observe))
            .with_state(state.clone());
        Ok(Self {
            state,
            router,
            sessions,
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then lets in-flight
    /// requests finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone(), self.sessions.clone()));
        let upkeep = tokio::spawn(api_key_upkeep(self.state.clone()));
        let metadata = tokio::spawn(metadata_refresh(self.state.clone()));
        let fetch = tokio::spawn(metadata_fetch(self.state.clone()));
        let checkpoints = tokio::spawn(audit_checkpoints(self.state.clone()));
        let events = tokio::spawn(crate::flows::events::deliver_forever(self.state.clone()));
        let service = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await?;
        housekeeping.abort();
        upkeep.abort();
        metadata.abort();
        fetch.abort();
        checkpoints.abort();
        events.abort();
        // Keep the last-used times of the final seconds.
        let uses = self.state.verifier.drain_last_used();
        crate::store::api_keys::record_last_used(&self.state.db, &uses).await?;
        Ok(())
    }
}

/// A MAC key every instance shares (made by the first): `device_mac` for
/// device cookies, `passkey_mac` for passkey ceremony handles. Stored sealed
/// under the KEK like the signing keys, so the database alone does not let
/// anyone mint device cookies or passkey handles. A secret found in clear
/// (an older version's, or one somebody wrote) is never used: it is
/// replaced by a fresh sealed one (browsers then count as new devices once,
/// and open passkey sign-ins start over).
async fn shared_key(db: &crate::Db, kek: &crate::kek::Kek, name: &str) -> anyhow::Result<[u8; 32]> {
    use crate::store::secrets;
    let fresh: [u8; 32] = rand::random();
    let mut stored = secrets::get_or_create(db, name, &kek.seal(name, &fresh)?).await?;
    if stored.len() == 32 {
        secrets::replace(db, name, &stored, &kek.seal(name, &fresh)?).await?;
        tracing::warn!(
            name,
            "a shared secret stored in clear was replaced by a sealed one"
        );
        stored = secrets::get_or_create(db, name, &kek.seal(name, &fresh)?).await?;
    }
    let opened = kek.open(name, &stored).map_err(|_| {
        anyhow::anyhow!(
            "the stored {name} secret does not open under this instance's KEK: give every \
             instance the same signing.kek / signing.kek_file"
        )
    })?;
    use secrecy::ExposeSecret as _;
    <[u8; 32]>::try_from(opened.expose_secret().as_slice())
        .map_err(|_| anyhow::anyhow!("stored {name} secret is not 32 bytes"))
}

/// Deletes expired ceremonies, sessions and throttle counters once a minute.
async fn housekeeping(app: AppState, sessions: AnySessionStore) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = ceremonies::delete_expired(&app.db, app.clock.now()).await {
            tracing::warn!(error = %e, "could not delete expired ceremonies");
        }
        if let Err(e) = sessions.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
        let now = app.clock.now();
        let window = app.config.throttle.failure_window;
        let window = crate::clock::millis(window);
        if let Err(e) = crate::store::throttle::forget_old(&app.db, now - window, now).await {
            tracing::warn!(error = %e, "could not delete old throttle counters");
        }
    }
}

/// Polls the API-key revocation epoch (4 times a second) so a revocation on
/// any instance empties this instance's verify cache within a second, and
/// writes batched last-used times every 5 seconds.
async fn api_key_upkeep(app: AppState) {
    let mut poll = tokio::time::interval(Duration::from_millis(250));
    let mut flush = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = poll.tick() => match crate::store::api_keys::epoch(&app.db).await {
                Ok(epoch) => { app.verifier.observe_epoch(epoch); }
                // Fail closed: without the epoch we cannot trust the cache.
                Err(e) => {
                    app.verifier.invalidate();
                    tracing::warn!(error = %e, "could not read the API-key epoch; cache dropped");
                }
            },
            _ = flush.tick() => {
                app.verifier.prune();
                let uses = app.verifier.drain_last_used();
                if let Err(e) = crate::store::api_keys::record_last_used(&app.db, &uses).await {
                    tracing::warn!(error = %e, "could not record API-key last use");
                }
            }
        }
    }
}

/// Rebuilds the attestation policy from the FIDO metadata stored now.
pub async fn apply_metadata(app: &AppState) -> anyhow::Result<()> {
    let models = crate::flows::metadata::models(&app.db).await?;
    app.fido
        .set_policy(attestation_policy(&app.config, &models)?);
    Ok(())
}

/// Watches for FIDO metadata imported on any instance (or by the CLI):
/// once a minute, a new BLOB serial rebuilds the attestation policy, so
/// enrolment follows the new metadata without a restart. (Suspensions need
/// no reload: they are on the keys' rows.) Keeps the suspended-keys gauge.
async fn metadata_refresh(app: AppState) {
    let mut seen = match log_metadata(&app).await {
        Ok(no) => no,
        Err(e) => {
            tracing::warn!(error = %e, "could not read FIDO metadata");
            None
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Ok(count) = crate::store::credentials::count_suspended(&app.db).await {
            crate::metrics::suspended_keys(count);
        }
        let Ok(current) = crate::store::metadata::current(&app.db).await else {
            continue;
        };
        let no = current.map(|b| b.no);
        if no == seen {
            continue;
        }
        match apply_metadata(&app).await {
            Ok(()) => {
                seen = no;
                let _ = log_metadata(&app).await;
            }
            Err(e) => tracing::warn!(error = %e, "new FIDO metadata not applied"),
        }
    }
}

/// Signs a checkpoint of the audit chain head every
/// `audit_checkpoint_minutes` (when it moved). Any instance may: one per
/// entry is kept.
async fn audit_checkpoints(app: AppState) {
    let mut tick = tokio::time::interval(app.config.audit_checkpoint);
    tick.tick().await; // not at start-up: the first one a period later
    loop {
        tick.tick().await;
        let now = app.clock.now();
        match crate::flows::checkpoints::make(&app.db, &app.custody, now).await {
            Ok(Some(row)) => tracing::info!(seq = row.seq, "audit checkpoint signed"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "audit checkpoint not signed"),
        }
    }
}

/// Fetches the FIDO metadata BLOB from `attestation.metadata_url` (if
/// set) at start-up and every `metadata_refresh_hours`, imports it when it
/// is newer, and applies it at once. Every instance may fetch: the serial's
/// compare-and-set lets one import win.
async fn metadata_fetch(app: AppState) {
    let Some(url) = app.config.attestation.metadata_url.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(app.config.attestation.metadata_refresh);
    loop {
        tick.tick().await;
        let now = app.clock.now();
        match crate::flows::metadata::fetch_and_import(&app.db, &app.config, &url, now).await {
            Ok(Some(done)) => {
                tracing::info!(
                    no = done.no, models = done.models, suspended = done.suspended.len(),
                    lifted = done.lifted.len(), %url, "FIDO metadata fetched and imported"
                );
                if let Err(e) = apply_metadata(&app).await {
                    tracing::warn!(error = %e, "new FIDO metadata not applied");
                }
            }
            Ok(None) => tracing::debug!(%url, "FIDO metadata unchanged"),
            Err(e) => tracing::warn!(error = %e, "FIDO metadata not fetched"),
        }
    }
}

/// Loads config for the CLI and the binary.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Config::load(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start-up line says what `trusted` accepts, by name.
    #[test]
    fn the_trust_summary_names_what_is_trusted() {
        let mut config = Config::default();
        assert!(trust_summary(&config).contains("`any`"));
        config.attestation.policy = AttestationMode::Trusted;
        let line = trust_summary(&config);
        assert!(line.contains("`trusted`"), "{line}");
        assert!(line.contains("Yubico Attestation Root 1"), "{line}");
        assert!(line.contains("YubiKey 5 models"), "{line}");
    }
}
