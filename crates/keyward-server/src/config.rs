//! Configuration: defaults that work on http://localhost:8080, then a TOML
//! file, then `KEYWARD_*` environment variables (`__` separates nesting, e.g.
//! `KEYWARD_SESSION__IDLE_MINUTES=30`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use keyward_access::PasswordParams;
use keyward_fido::UserVerification;
use serde::{Deserialize, Serialize};
use url::Url;

mod sections;
mod units;
pub use crate::domain::amount::{AssetConfig, default_assets};
pub use sections::{
    ApiKeyConfig, AttestationConfig, AttestationMode, EventsConfig, ExtraCa, KeyRequirement,
    KeyRequirements, LogFormat, OperatorConfig, PasskeySignIn, RecoveryConfig, RiskConfig,
    SessionConfig, SigningConfig, ThrottleConfig, UvConfig, Webhook, WithdrawalConfig,
};

/// What a key must be for one action, defaults resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedRequirement {
    /// Only device-bound credentials (backup-eligible flag clear).
    pub device_bound: bool,
    /// The least certification level of the key's model.
    pub min_certification: Option<keyward_fido::CertificationLevel>,
}

/// Everything Keyward can be told at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// A second address serving only `/metrics`, without a key, for a
    /// scraper on a private network; bind it to a private interface. On the
    /// public address `/metrics` needs a service key with the `metrics`
    /// scope.
    pub metrics_listen: Option<SocketAddr>,
    /// The exact origin browsers use (scheme://host[:port]).
    pub origin: Url,
    /// WebAuthn relying-party id: the origin's host or a parent domain.
    pub rp_id: String,
    /// Name shown by authenticators.
    pub rp_name: String,
    /// Database URL; `sqlite://…` or `postgres://…`. Default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// PostgreSQL only: the most connections this instance opens. Several
    /// instances on one PostgreSQL share its `max_connections`.
    pub database_max_connections: u32,
    /// Where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// Which security keys may be enrolled.
    pub attestation: AttestationConfig,
    /// Session lifetimes.
    pub session: SessionConfig,
    /// WebAuthn ceremony lifetime, the challenge's expiry
    /// (`ceremony_ttl_seconds`).
    #[serde(rename = "ceremony_ttl_seconds", with = "units::seconds")]
    pub ceremony_ttl: Duration,
    /// How recent a key assertion must be for sensitive changes
    /// (`reauth_window_seconds`).
    #[serde(rename = "reauth_window_seconds", with = "units::seconds")]
    pub reauth_window: Duration,
    /// User-verification requirement per action.
    pub user_verification: UvConfig,
    /// Brute-force throttling.
    pub throttle: ThrottleConfig,
    /// argon2id cost.
    pub password: PasswordParams,
    /// Step-up and withdrawal policy settings.
    pub withdrawals: WithdrawalConfig,
    /// User API keys.
    pub api_keys: ApiKeyConfig,
    /// Account recovery (lost keys).
    pub recovery: RecoveryConfig,
    /// Operators: the two-person rule's approval window.
    pub operators: OperatorConfig,
    /// Security events pushed to the exchange's webhooks.
    pub events: EventsConfig,
    /// Risk signals: GeoIP databases, thresholds and each signal's effect.
    pub risk: RiskConfig,
    /// Supported assets: decimals and per-user daily limits.
    pub assets: BTreeMap<String, AssetConfig>,
    /// Withdrawal networks and how each writes its addresses; an address
    /// for a network not listed here cannot be allow-listed.
    pub networks: BTreeMap<String, crate::domain::address::NetworkConfig>,
    /// Issuer (`iss`) of approval tokens; default: the origin.
    pub token_issuer: Option<String>,
    /// `plain` or `json` log lines.
    pub log_format: LogFormat,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or
    /// CIDR ranges). Empty: the peer address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest request body accepted, bytes.
    pub max_body_bytes: usize,
    /// Where the key that seals approval-signing keys comes from.
    pub signing: SigningConfig,
    /// How often the server signs a checkpoint of the audit chain head
    /// (`audit_checkpoint_minutes`).
    #[serde(rename = "audit_checkpoint_minutes", with = "units::minutes")]
    pub audit_checkpoint: Duration,
    /// Signing in with a passkey (a discoverable credential on a
    /// device-bound, attested key, chosen without typing a username).
    pub passkey_sign_in: PasskeySignIn,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            origin: default_origin(),
            rp_id: "localhost".into(),
            rp_name: "Keyward".into(),
            database_url: None,
            database_max_connections: 16,
            data_dir: PathBuf::from("data"),
            attestation: AttestationConfig::default(),
            passkey_sign_in: PasskeySignIn::WithPassword,
            signing: SigningConfig::default(),
            audit_checkpoint: Duration::from_secs(3_600),
            session: SessionConfig::default(),
            ceremony_ttl: Duration::from_secs(300),
            reauth_window: Duration::from_secs(300),
            user_verification: UvConfig::default(),
            throttle: ThrottleConfig::default(),
            password: PasswordParams::default(),
            withdrawals: WithdrawalConfig::default(),
            api_keys: ApiKeyConfig::default(),
            recovery: RecoveryConfig::default(),
            operators: OperatorConfig::default(),
            events: EventsConfig::default(),
            risk: RiskConfig::default(),
            assets: default_assets(),
            networks: crate::domain::address::default_networks(),
            token_issuer: None,
            log_format: LogFormat::Plain,
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

impl From<&Config> for crate::db::DbOptions {
    /// The database options `config` asks for, in the server's default schema.
    fn from(config: &Config) -> Self {
        Self {
            pg_schema: None,
            pg_max_connections: config.database_max_connections,
        }
    }
}

#[allow(clippy::expect_used)] // a constant that parses; covered by `defaults_are_valid_and_local`
fn default_origin() -> Url {
    Url::parse("http://localhost:8080").expect("constant URL")
}

impl Config {
    /// Loads defaults, then `file` (if given, or `keyward.toml` if present),
    /// then `KEYWARD_*` variables, and checks the result.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => {
                anyhow::bail!("config file {} does not exist", path.display())
            }
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file("keyward.toml")),
        }
        Self::extract(
            figment.merge(
                // Variables that are not settings: the log filter, the config
                // file path, and the test and load-generator knobs.
                Env::prefixed("KEYWARD_")
                    .ignore(&[
                        "LOG",
                        "CONFIG",
                        "TEST_DATABASE_URL",
                        "LOADGEN_SERVICE_KEY",
                        "OPERATOR_KEY",
                    ])
                    .split("__"),
            ),
        )
    }

    /// Defaults, then the TOML text `toml`, checked as [`Config::load`]
    /// checks a file — without the environment (used by the fuzz target).
    pub fn from_toml_str(toml: &str) -> anyhow::Result<Self> {
        Self::extract(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    fn extract(figment: Figment) -> anyhow::Result<Self> {
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects settings that cannot work, saying what to fix.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.origin.path() != "/" || self.origin.query().is_some() {
            anyhow::bail!(
                "origin `{}` must be scheme://host[:port] with no path",
                self.origin
            );
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            anyhow::bail!("database_url must start with sqlite:, postgres:// or postgresql://");
        }
        if self.database_max_connections == 0 {
            anyhow::bail!("database_max_connections must be at least 1");
        }
        let events = &self.events;
        if events.deliver_interval < Duration::from_millis(10)
            || events.deliver_interval > Duration::from_secs(3_600)
            || events.retry_max < Duration::from_secs(1)
            || events.retry_max > Duration::from_secs(86_400)
        {
            anyhow::bail!(
                "events.deliver_interval_ms must be 10 to 3600000 and events.retry_max_seconds 1 to 86400"
            );
        }
        for hook in &events.webhooks {
            if !matches!(hook.url.scheme(), "https" | "http") || hook.audience.trim().is_empty() {
                anyhow::bail!(
                    "events.webhooks: each needs an http(s) url and a non-empty audience ({})",
                    hook.url
                );
            }
        }
        if self.operators.approval_window.is_zero() {
            anyhow::bail!("operators.approval_window_minutes must be positive");
        }
        if self.session.idle.is_zero() || self.session.absolute.is_zero() {
            anyhow::bail!("session.idle_minutes and session.absolute_hours must be positive");
        }
        // Upper bounds keep every lifetime the server adds to "now" (in
        // milliseconds) far from overflow: a wrapped hold or cooling-off
        // would lift it instead of imposing it. (Key, value, limit in the
        // key's unit, seconds per unit.)
        let w = &self.withdrawals;
        let limits = [
            ("session.idle_minutes", self.session.idle, 24 * 60, 60),
            (
                "session.absolute_hours",
                self.session.absolute,
                24 * 365,
                3_600,
            ),
            ("reauth_window_seconds", self.reauth_window, 86_400, 1),
            (
                "withdrawals.step_up_ttl_seconds",
                w.step_up_ttl,
                86_400 * 30,
                1,
            ),
            ("withdrawals.hold_hours", w.hold, 24 * 365 * 10, 3_600),
            ("recovery.delay_hours", self.recovery.delay, 24 * 365, 3_600),
            ("recovery.hold_hours", self.recovery.hold, 24 * 365, 3_600),
            (
                "operators.approval_window_minutes",
                self.operators.approval_window,
                7 * 24 * 60,
                60,
            ),
            (
                "withdrawals.address_cooling_hours",
                w.address_cooling,
                24 * 365 * 10,
                3_600,
            ),
        ];
        for (name, value, max, unit) in limits {
            if value > Duration::from_secs(max * unit) {
                anyhow::bail!("{name} must be at most {max}");
            }
        }
        if self.audit_checkpoint < Duration::from_secs(60)
            || self.audit_checkpoint > Duration::from_secs(24 * 3_600)
        {
            anyhow::bail!("audit_checkpoint_minutes must be 1..=1440");
        }
        let refresh = self.attestation.metadata_refresh;
        if refresh.is_zero() || refresh > Duration::from_secs(24 * 3_600 * 31) {
            anyhow::bail!("attestation.metadata_refresh_hours must be 1..=744");
        }
        if let Some(url) = &self.attestation.metadata_url
            && !matches!(url.scheme(), "https" | "http")
        {
            anyhow::bail!("attestation.metadata_url must be an https:// (or http://) URL");
        }
        if self.ceremony_ttl.is_zero() || self.ceremony_ttl > Duration::from_secs(3600) {
            anyhow::bail!("ceremony_ttl_seconds must be between 1 and 3600");
        }
        for (name, network) in &self.networks {
            network.validate(name).map_err(|e| anyhow::anyhow!(e))?;
        }
        for (symbol, asset) in &self.assets {
            if asset.decimals > 24 {
                anyhow::bail!("assets.{symbol}.decimals must be at most 24");
            }
            if let Some(limit) = &asset.daily_limit {
                crate::domain::amount::parse(limit, asset.decimals)
                    .map_err(|e| anyhow::anyhow!("assets.{symbol}.daily_limit {e}"))?;
            }
        }
        if w.step_up_ttl.is_zero()
            || w.approval_ttl.is_zero()
            || w.approval_ttl > Duration::from_secs(3600)
        {
            anyhow::bail!(
                "withdrawals.step_up_ttl_seconds must be positive and approval_ttl_seconds 1..=3600"
            );
        }
        let k = &self.api_keys;
        if k.max_days == 0
            || k.max_days_without_ip == 0
            || k.max_days > 3650
            || k.min_prefix_v4 > 32
            || k.min_prefix_v6 > 128
        {
            anyhow::bail!(
                "api_keys: max_days 1..=3650, max_days_without_ip positive, min_prefix_v4 <= 32, min_prefix_v6 <= 128"
            );
        }
        let t = &self.throttle;
        if !(1..=100).contains(&t.lock_after) {
            // NIST SP 800-63B 5.2.2: no more than 100 consecutive failures.
            anyhow::bail!("throttle.lock_after must be 1..=100");
        }
        let window = t.failure_window;
        if window < Duration::from_secs(60)
            || window > Duration::from_secs(10_080 * 60)
            || t.hash_queue == 0
        {
            anyhow::bail!(
                "throttle.failure_window_minutes must be 1..=10080 and throttle.hash_queue positive"
            );
        }
        Ok(())
    }

    /// The database URL in force: the configured one or SQLite in `data_dir`.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("keyward.db").display()
            )
        })
    }

    /// The `iss` of approval tokens.
    pub fn issuer(&self) -> String {
        self.token_issuer
            .clone()
            .unwrap_or_else(|| self.origin_header())
    }

    /// UV requirement for approving `action`.
    pub fn uv_for(&self, action: crate::domain::details::Action) -> UserVerification {
        use crate::domain::details::Action;
        match action {
            Action::Withdrawal => self.user_verification.withdrawal,
            Action::AddressAdd => self.user_verification.address_add,
            Action::ApiKeyCreate => self.user_verification.api_key_create,
        }
    }

    /// What a key must be for `action` (`None`: signing in), with the
    /// defaults resolved: under `trusted`, withdrawals need a device-bound
    /// key unless the operator says otherwise.
    pub fn key_requirement(
        &self,
        action: Option<crate::domain::details::Action>,
    ) -> ResolvedRequirement {
        use crate::domain::details::Action;
        let r = &self.attestation.require;
        let set = match action {
            None => &r.sign_in,
            Some(Action::Withdrawal) => &r.withdrawal,
            Some(Action::AddressAdd) => &r.address_add,
            Some(Action::ApiKeyCreate) => &r.api_key_create,
        };
        let trusted = self.attestation.policy == AttestationMode::Trusted;
        ResolvedRequirement {
            device_bound: set
                .device_bound
                .unwrap_or(trusted && action == Some(Action::Withdrawal)),
            min_certification: set.min_certification,
        }
    }

    /// Daily limit of `asset` in base units, if any.
    pub fn daily_limit_units(&self, asset: &str) -> Option<u128> {
        let a = self.assets.get(asset)?;
        a.daily_limit
            .as_deref()
            .and_then(|l| crate::domain::amount::parse(l, a.decimals).ok())
            .map(|a| a.units)
    }

    /// Whether cookies must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.origin.scheme() == "https"
    }

    /// The origin as browsers send it in the `Origin` header (no trailing slash).
    pub fn origin_header(&self) -> String {
        self.origin.origin().ascii_serialization()
    }
}

#[cfg(test)]
mod tests;
