//! The sections of [`super::Config`]: one type per table of `keyward.toml`,
//! each with its defaults.

use std::path::PathBuf;
use std::time::Duration;

use keyward_fido::UserVerification;
use serde::{Deserialize, Serialize};

/// Attestation policy settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttestationConfig {
    /// `any` (development) or `trusted`.
    pub policy: AttestationMode,
    /// Under `trusted`: include the built-in Yubico roots and intermediates
    /// for the YubiKey 5 AAGUIDs.
    pub yubico: bool,
    /// Under `trusted`: extra CA files and the AAGUIDs each may attest.
    pub extra_cas: Vec<ExtraCa>,
    /// PEM files of the roots a FIDO metadata BLOB must chain to, used
    /// instead of the pinned FIDO MDS roots (GlobalSign R3 and R46): for a
    /// private metadata service, or tests. Empty: the pinned roots.
    pub metadata_roots: Vec<PathBuf>,
    /// Where to fetch the FIDO metadata BLOB from, for deployments with
    /// internet (e.g. `https://mds3.fidoalliance.org/`): at start-up and
    /// every `metadata_refresh_hours`. Unset: only `keyward attestation
    /// import-mds` imports metadata.
    pub metadata_url: Option<url::Url>,
    /// How often to fetch `metadata_url` (`metadata_refresh_hours`).
    #[serde(rename = "metadata_refresh_hours", with = "super::units::hours")]
    pub metadata_refresh: Duration,
    /// Whether a key suspended by metadata (its model compromised) may
    /// still sign in, so its owner can see why and enrol another. It never
    /// approves a step-up.
    pub suspended_keys_sign_in: bool,
    /// What a key must be to sign in or approve each action.
    pub require: KeyRequirements,
}

/// What a key must be, per action.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyRequirements {
    /// Signing in.
    pub sign_in: KeyRequirement,
    /// Approving a withdrawal.
    pub withdrawal: KeyRequirement,
    /// Approving an allow-list addition.
    pub address_add: KeyRequirement,
    /// Approving an API-key creation.
    pub api_key_create: KeyRequirement,
}

/// What a key must be for one action.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct KeyRequirement {
    /// Only device-bound credentials (backup-eligible flag clear: the
    /// private key cannot leave the authenticator, e.g. into a synced
    /// passkey). Unset: true for withdrawals under `trusted`, else false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_bound: Option<bool>,
    /// The least FIDO certification level of the key's model, from
    /// metadata (`L1`, `L1plus`, `L2`, …). A model metadata does not
    /// describe has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_certification: Option<keyward_fido::CertificationLevel>,
}

/// `any` or `trusted`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AttestationMode {
    /// Accept every authenticator.
    Any,
    /// Accept only attested, allow-listed models.
    Trusted,
}

/// Where the key-encryption key of the approval-signing keys comes from
/// (see `kek.rs`). Neither set: a file `signing.kek` in `data_dir`, created
/// on first start (one instance only).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigningConfig {
    /// The KEK itself, base64 of 32 bytes (set it through the environment:
    /// `KEYWARD_SIGNING__KEK`). Never printed.
    #[serde(serialize_with = "redacted", skip_serializing_if = "Option::is_none")]
    pub kek: Option<secrecy::SecretString>,
    /// A file holding the KEK (base64 of 32 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kek_file: Option<PathBuf>,
    /// A PKCS#11 token (HSM) to generate and keep new signing keys in,
    /// instead of sealing them under the KEK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<crate::hsm::Pkcs11Config>,
}

fn redacted<S: serde::Serializer>(
    _: &Option<secrecy::SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str("REDACTED")
}

/// Whether and how a passkey signs in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PasskeySignIn {
    /// Only password, then key.
    Off,
    /// The passkey names the account; the password is still asked.
    WithPassword,
    /// The passkey (with its PIN or fingerprint) is enough.
    Standalone,
}

/// An operator-supplied attestation root.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraCa {
    /// PEM file of the CA certificate.
    pub pem_file: PathBuf,
    /// AAGUIDs this CA may attest.
    pub aaguids: Vec<uuid::Uuid>,
}

/// Session lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Idle timeout (`idle_minutes`).
    #[serde(rename = "idle_minutes", with = "super::units::minutes")]
    pub idle: Duration,
    /// Absolute timeout (`absolute_hours`).
    #[serde(rename = "absolute_hours", with = "super::units::hours")]
    pub absolute: Duration,
}

/// UV requirement per action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UvConfig {
    /// Signing in.
    pub sign_in: UserVerification,
    /// Adding or removing keys (re-authentication).
    pub key_management: UserVerification,
    /// Approving a withdrawal.
    pub withdrawal: UserVerification,
    /// Approving an allow-list addition.
    pub address_add: UserVerification,
    /// Approving an API-key creation.
    pub api_key_create: UserVerification,
}

/// Step-up lifetimes and withdrawal policy timings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WithdrawalConfig {
    /// How long a pending step-up waits for the user's key
    /// (`step_up_ttl_seconds`).
    #[serde(rename = "step_up_ttl_seconds", with = "super::units::seconds")]
    pub step_up_ttl: Duration,
    /// How long an approval stays redeemable, and its token valid
    /// (`approval_ttl_seconds`).
    #[serde(rename = "approval_ttl_seconds", with = "super::units::seconds")]
    pub approval_ttl: Duration,
    /// Withdrawal hold after a security change (`hold_hours`).
    #[serde(rename = "hold_hours", with = "super::units::hours")]
    pub hold: Duration,
    /// Cooling-off before a new allow-list address is usable
    /// (`address_cooling_hours`).
    #[serde(rename = "address_cooling_hours", with = "super::units::hours")]
    pub address_cooling: Duration,
}

/// User API-key rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Live keys a user may have.
    pub max_per_user: i64,
    /// Longest life of a key without an IP allow-list, days.
    pub max_days_without_ip: u32,
    /// Longest life of any key, days (every key expires).
    pub max_days: u32,
    /// Narrowest IPv4 prefix an allow-list entry may be (wider networks,
    /// such as `0.0.0.0/0`, are refused).
    pub min_prefix_v4: u8,
    /// Narrowest IPv6 prefix an allow-list entry may be (`::/0` is refused).
    pub min_prefix_v6: u8,
    /// Failed verifications allowed per client IP per minute.
    pub failures_per_minute_ip: u32,
    /// Failed verifications allowed per key prefix per minute.
    pub failures_per_minute_prefix: u32,
}

impl Default for ApiKeyConfig {
    fn default() -> Self {
        Self {
            max_per_user: 30,
            max_days_without_ip: 30,
            max_days: 365,
            min_prefix_v4: 24,
            min_prefix_v6: 48,
            failures_per_minute_ip: 30,
            failures_per_minute_prefix: 10,
        }
    }
}

impl Default for WithdrawalConfig {
    fn default() -> Self {
        Self {
            step_up_ttl: Duration::from_secs(300),
            approval_ttl: Duration::from_secs(300),
            hold: Duration::from_secs(24 * 3_600),
            address_cooling: Duration::from_secs(24 * 3_600),
        }
    }
}

/// Account recovery for a user who lost every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryConfig {
    /// How long a started recovery waits, cancellable by any of the
    /// account's keys, before it may complete (`delay_hours`).
    #[serde(rename = "delay_hours", with = "super::units::hours")]
    pub delay: Duration,
    /// The withdrawal hold a completed recovery starts (`hold_hours`).
    #[serde(rename = "hold_hours", with = "super::units::hours")]
    pub hold: Duration,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            delay: Duration::from_secs(72 * 3_600),
            hold: Duration::from_secs(7 * 24 * 3_600),
        }
    }
}

/// Security events pushed to the exchange (RFC 8935 push delivery).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Endpoints every security event is POSTed to, in order, at least once.
    pub webhooks: Vec<Webhook>,
    /// How often each instance looks for events to deliver
    /// (`deliver_interval_ms`).
    #[serde(rename = "deliver_interval_ms", with = "super::units::millis")]
    pub deliver_interval: Duration,
    /// The longest wait between retries of a failing endpoint
    /// (`retry_max_seconds`); the wait doubles from a second up to it.
    #[serde(rename = "retry_max_seconds", with = "super::units::seconds")]
    pub retry_max: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            deliver_interval: Duration::from_millis(500),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// Risk signals (`[risk]`): the facts they need and what each does
/// (`[risk.effects]`, see `domain::risk`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// A MaxMind-format city database (GeoLite2-City, GeoIP2-City): country
    /// and location per address. Unset: no country or travel signals.
    pub geoip_city: Option<PathBuf>,
    /// A MaxMind-format ASN database (GeoLite2-ASN). Unset: no ASN signal.
    pub geoip_asn: Option<PathBuf>,
    /// Faster than this between two sign-ins' places is impossible travel.
    pub max_travel_kmh: u32,
    /// A key younger than this approving a step-up fires `new_key`.
    pub new_key_days: u32,
    /// A security change younger than this fires `recent_security_change`.
    pub recent_change_hours: u32,
    /// More withdrawal step-ups than this in an hour fire
    /// `withdrawal_velocity`.
    pub withdrawals_per_hour: u32,
    /// More than this in 24 hours fire it too.
    pub withdrawals_per_day: u32,
    /// Asking for more than this share of an asset's daily limit within an
    /// hour fires it too, percent.
    pub hourly_share_percent: u32,
    /// How many earlier sign-ins a new one is compared with.
    pub history: u32,
    /// What each signal does.
    pub effects: crate::domain::risk::Effects,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            geoip_city: None,
            geoip_asn: None,
            max_travel_kmh: 1_000,
            new_key_days: 2,
            recent_change_hours: 72,
            withdrawals_per_hour: 10,
            withdrawals_per_day: 50,
            hourly_share_percent: 50,
            history: 100,
            effects: crate::domain::risk::Effects::default(),
        }
    }
}

/// One webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Where to POST (`https://`, or `http://` on a private network).
    pub url: url::Url,
    /// The `aud` of the tokens sent there: the receiver checks it is its own.
    pub audience: String,
}

/// Operators and the two-person rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorConfig {
    /// How long a loosening operator action waits for a second operator's
    /// approval before it expires (`approval_window_minutes`).
    #[serde(rename = "approval_window_minutes", with = "super::units::minutes")]
    pub approval_window: Duration,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            approval_window: Duration::from_secs(60 * 60),
        }
    }
}

/// Throttling of failed password and key attempts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Consecutive failures (of one account from browsers it has not signed
    /// in from, or of one trusted browser) after which that scope is refused
    /// until `failure_window_minutes` have passed since the last failure.
    /// NIST SP 800-63B: at most 100.
    pub lock_after: i64,
    /// Failures allowed before backoff starts (per account scope).
    pub free_failures: i64,
    /// Failures allowed per client IP (IPv6: per /64) before backoff starts.
    pub ip_free_failures: i64,
    /// Longest backoff (`max_backoff_seconds`).
    #[serde(rename = "max_backoff_seconds", with = "super::units::seconds")]
    pub max_backoff: Duration,
    /// Failures older than this (counted from the latest) are forgotten;
    /// also how long a scope that reached `lock_after` stays refused.
    #[serde(rename = "failure_window_minutes", with = "super::units::minutes")]
    pub failure_window: Duration,
    /// Sign-ups allowed per client IP (IPv6: per /64) before backoff starts.
    pub signups_per_ip: i64,
    /// Password checks that may wait for a hashing thread; beyond this the
    /// server answers 503 with Retry-After instead of queueing without end.
    pub hash_queue: usize,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

impl Default for AttestationConfig {
    fn default() -> Self {
        Self {
            policy: AttestationMode::Any,
            yubico: true,
            extra_cas: Vec::new(),
            metadata_roots: Vec::new(),
            metadata_url: None,
            metadata_refresh: Duration::from_secs(24 * 3_600),
            suspended_keys_sign_in: true,
            require: KeyRequirements::default(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(15 * 60),
            absolute: Duration::from_secs(12 * 3_600),
        }
    }
}

impl Default for UvConfig {
    fn default() -> Self {
        Self {
            sign_in: UserVerification::Preferred,
            key_management: UserVerification::Required,
            withdrawal: UserVerification::Required,
            address_add: UserVerification::Required,
            api_key_create: UserVerification::Required,
        }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            lock_after: 100,
            free_failures: 5,
            ip_free_failures: 20,
            max_backoff: Duration::from_secs(900),
            failure_window: Duration::from_secs(3_600),
            signups_per_ip: 10,
            hash_queue: 64,
        }
    }
}
