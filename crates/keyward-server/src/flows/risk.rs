//! Risk signals in the flows: gathers the facts the pure signals of
//! [`crate::domain::risk`] compare (where a sign-in comes from, with GeoIP;
//! the account's earlier sign-ins; its recent withdrawals and security
//! changes; the approving key's age), joins their configured effects, and
//! records what they decided in the audit log — the outbox the exchange
//! hears from — when any effect is more than `none`.

use keyward_api::risk::{RiskEffect, RiskReason};
use keyward_fido::UserVerification;
use keyward_fido::wire::SecurityKey;
use uuid::Uuid;

use crate::caller::Client;
use crate::clock::Millis;
use crate::db::Tx;
use crate::domain::audit::{AuditEvent, RiskDecided};
use crate::domain::details::{Action, Canonical, Details};
use crate::domain::policy::Decision;
use crate::domain::risk::{self, Fired, Place, Velocity, VelocityLimits, Verdict};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::credentials::CredentialRow;
use crate::store::step_ups::StepUpRow;
use crate::store::{audit, logins, step_ups};

const HOUR: Millis = 3_600_000;

/// Where `client` is now: its network and, with GeoIP, country, ASN and
/// location; `known_device` is the device id of a valid device cookie for
/// the account (none: a browser new to it).
pub fn place_of(app: &AppState, client: &Client, known_device: Option<Uuid>, now: Millis) -> Place {
    let ip = client.ip.parse::<std::net::IpAddr>().ok();
    let geo = ip.map(|ip| app.geo.lookup(ip)).unwrap_or_default();
    Place {
        device: known_device.map(|d| d.simple().to_string()),
        network: ip.map(risk::network_of),
        country: geo.country,
        asn: geo.asn,
        location: geo.location,
        at: now,
    }
}

/// The verdict on a sign-in from `place`, against the account's earlier
/// sign-ins (read in the sign-in's own transaction).
pub async fn at_sign_in(
    app: &AppState,
    tx: &mut Tx,
    user_id: Uuid,
    place: &Place,
) -> ApiResult<Verdict> {
    let cfg = &app.config.risk;
    let history = logins::places_in(tx, user_id, cfg.history).await?;
    let fired = risk::place_signals(place, &history, f64::from(cfg.max_travel_kmh));
    Ok(risk::assess(&fired, &cfg.effects))
}

/// The user verification a sign-in from `client` must ask of the key:
/// `required` when the place's signals require it, else `configured`.
/// Asked before the key step (read outside any transaction), and again at
/// its end by [`at_sign_in`].
pub async fn sign_in_uv(
    app: &AppState,
    user_id: Uuid,
    username: &str,
    client: &Client,
    configured: UserVerification,
) -> ApiResult<UserVerification> {
    let cfg = &app.config.risk;
    let known = client
        .device_cookie
        .as_deref()
        .and_then(|c| app.devices.verify(c, username));
    let place = place_of(app, client, known, app.clock.now());
    let history = logins::places(&app.db, user_id, cfg.history).await?;
    let fired = risk::place_signals(&place, &history, f64::from(cfg.max_travel_kmh));
    Ok(stricter(
        configured,
        risk::assess(&fired, &cfg.effects).require_uv,
    ))
}

fn stricter(configured: UserVerification, require: bool) -> UserVerification {
    if require {
        UserVerification::Required
    } else {
        configured
    }
}

/// The step-up signals, at creation and again at redeem (`this`: the
/// step-up being redeemed, not counted in its own velocity): withdrawal
/// velocity and a recent security change. Inside the deciding transaction,
/// the user row locked.
pub async fn at_step_up(
    app: &AppState,
    tx: &mut Tx,
    user_id: Uuid,
    c: &Canonical,
    changed_at: Option<Millis>,
    now: Millis,
    this: Option<Uuid>,
) -> ApiResult<Verdict> {
    let cfg = &app.config.risk;
    let mut fired: Vec<Fired> = Vec::new();
    let window = HOUR * i64::from(cfg.recent_change_hours);
    fired.extend(risk::recent_change_signal(changed_at, now, window));
    if let Details::Withdrawal(w) = &c.details {
        let day = crate::domain::daily_limit::WINDOW_MS;
        // Counted up to one past each limit: enough to fire, and bounded.
        let this = this.unwrap_or(Uuid::nil());
        let per_hour = i64::from(cfg.withdrawals_per_hour) + 1;
        let hour = step_ups::recent_withdrawals(tx, user_id, this, now - HOUR, per_hour).await?;
        let count_day = step_ups::count_withdrawals(
            tx,
            user_id,
            this,
            now - day,
            i64::from(cfg.withdrawals_per_day) + 1,
        )
        .await?;
        let amount_hour = hour
            .iter()
            .filter(|r| r.asset.as_deref() == Some(w.asset.as_str()))
            .filter_map(|r| r.amount_units.as_deref()?.parse::<u128>().ok())
            .fold(0u128, u128::saturating_add);
        let velocity = Velocity {
            count_hour: count(hour.len()),
            count_day: u32::try_from(count_day).unwrap_or(u32::MAX),
            amount_hour,
            amount: w.amount.units,
            daily_limit: app.config.daily_limit_units(&w.asset),
        };
        let limits = VelocityLimits {
            per_hour: cfg.withdrawals_per_hour,
            per_day: cfg.withdrawals_per_day,
            hourly_share_percent: cfg.hourly_share_percent,
        };
        fired.extend(risk::velocity_signal(&velocity, &limits));
    }
    Ok(risk::assess(&fired, &cfg.effects))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The user verification approving `row` asks of the key, at its options
/// and again at its verification: `required` when a signal at its
/// creation required it, or, for a withdrawal, when one of the user's keys
/// is new enough for `new_key` to require it (which key answers is not
/// known when the options are made); else `configured`.
/// `keys` are the user's keys, as the ceremony reads them.
pub fn approval_uv(
    app: &AppState,
    row: &StepUpRow,
    configured: UserVerification,
    keys: &[(CredentialRow, SecurityKey)],
) -> UserVerification {
    let cfg = &app.config.risk;
    let now = app.clock.now();
    let new_key_requires = row.action == Action::Withdrawal.as_str()
        && cfg.effects.new_key.kind == RiskEffect::RequireUv
        && keys
            .iter()
            .any(|(k, _)| risk::new_key_signal(k.created_at, now, new_key_age(app)).is_some());
    let created_requires = reasons_of(row)
        .iter()
        .any(|r| r.effect == RiskEffect::RequireUv);
    stricter(configured, created_requires || new_key_requires)
}

/// Keys younger than this fire `new_key`.
fn new_key_age(app: &AppState) -> Millis {
    24 * HOUR * i64::from(app.config.risk.new_key_days)
}

/// The verdict on approving `action` with a key enrolled at
/// `key_created_at`: a key's age bears on moving money, so only
/// withdrawals ask (a new key may list its owner's addresses).
pub fn at_approval(app: &AppState, action: Action, key_created_at: Millis, now: Millis) -> Verdict {
    if action != Action::Withdrawal {
        return Verdict::default();
    }
    let fired: Vec<Fired> = risk::new_key_signal(key_created_at, now, new_key_age(app))
        .into_iter()
        .collect();
    risk::assess(&fired, &app.config.risk.effects)
}

/// The reasons stored on a step-up.
pub fn reasons_of(row: &StepUpRow) -> Vec<RiskReason> {
    row.risk
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// The reasons as stored (none: NULL).
pub fn stored(reasons: &[RiskReason]) -> Option<String> {
    (!reasons.is_empty()).then(|| serde_json::to_string(reasons).unwrap_or_default())
}

/// `row`'s stored reasons followed by `verdict`'s, as stored.
pub fn stored_with(row: &StepUpRow, verdict: &Verdict) -> String {
    let mut reasons = reasons_of(row);
    reasons.extend(verdict.reasons.iter().cloned());
    stored(&reasons).unwrap_or_default()
}

/// Records a verdict in the audit log (and so tells the exchange) when
/// any of its effects is more than `none`.
pub async fn record(
    tx: &mut Tx,
    user_id: Uuid,
    decided: RiskDecided,
    ip: &str,
    now: Millis,
    notify: bool,
) -> ApiResult<()> {
    if let Some(event) = notice(user_id, decided, ip, notify) {
        audit::append(tx, &event, now).await?;
    }
    Ok(())
}

/// The audit entry [`record`] would append, for a caller that appends it
/// with its own.
pub fn notice(
    user_id: Uuid,
    decided: RiskDecided,
    ip: &str,
    notify: bool,
) -> Option<audit::Event<'_>> {
    notify.then_some(audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::RiskDecided(decided),
        ip: Some(ip),
    })
}

/// The outcome word and hold end of a step-up decision, for the record.
pub fn outcome_of(decision: &Decision) -> (&'static str, Option<Millis>) {
    match decision {
        Decision::Allow => ("allowed", None),
        Decision::Held { until, .. } => ("held", Some(*until)),
        Decision::Denied { .. } => ("denied", None),
    }
}
