//! Risk signals and their effects, pure. Each signal compares what is
//! happening now (where a sign-in or approval comes from, how many
//! withdrawals lately, how old the key is) with what the account has done
//! before; each fired signal has the effect the operator configured.
//! Effects only ever tighten: [`assess`] joins them, so firing one more
//! signal, or configuring a stronger effect, never loosens a verdict
//! (property-tested below).

use std::net::IpAddr;

use keyward_api::risk::{RiskEffect, RiskReason, RiskSignal};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;

const HOUR: Millis = 3_600_000;

/// An effect as configured: `none`, `notify`, `require_uv`, `deny`, or
/// `hold <N>h` (withdrawals held for N hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Effect {
    /// What it does.
    pub kind: RiskEffect,
    /// For `hold`: hours (1–720); 0 otherwise.
    pub hold_hours: u32,
}

impl Effect {
    /// An effect without a parameter.
    pub const fn of(kind: RiskEffect) -> Self {
        Self {
            kind,
            hold_hours: 0,
        }
    }

    /// A hold of `hours`.
    pub const fn hold(hours: u32) -> Self {
        Self {
            kind: RiskEffect::Hold,
            hold_hours: hours,
        }
    }
}

impl TryFrom<String> for Effect {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("hold") {
            let hours = rest.trim().trim_end_matches('h');
            return match hours.parse::<u32>() {
                Ok(h @ 1..=720) => Ok(Self::hold(h)),
                _ => Err(format!("`{s}`: a hold is `hold <1-720>h`, e.g. `hold 24h`")),
            };
        }
        match RiskEffect::parse(s) {
            RiskEffect::Unknown | RiskEffect::Hold => Err(format!(
                "`{s}`: an effect is none, notify, require_uv, deny or `hold 24h`"
            )),
            kind => Ok(Self::of(kind)),
        }
    }
}

impl From<Effect> for String {
    fn from(e: Effect) -> Self {
        match e.kind {
            RiskEffect::Hold => format!("hold {}h", e.hold_hours),
            kind => kind.as_str().to_owned(),
        }
    }
}

/// The configured effect of each signal (`[risk.effects]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Effects {
    /// A browser that never signed in to the account.
    pub new_device: Effect,
    /// A network (/24, /48) the account never signed in from.
    pub new_network: Effect,
    /// A country the account never signed in from.
    pub new_country: Effect,
    /// An autonomous system the account never signed in from.
    pub new_asn: Effect,
    /// Impossibly fast travel since the previous sign-in.
    pub impossible_travel: Effect,
    /// Withdrawals faster than the configured velocity.
    pub withdrawal_velocity: Effect,
    /// A security change within `recent_change_hours`.
    pub recent_security_change: Effect,
    /// A step-up approved with a key younger than `new_key_days`.
    pub new_key: Effect,
}

impl Default for Effects {
    fn default() -> Self {
        Self {
            new_device: Effect::of(RiskEffect::Notify),
            new_network: Effect::of(RiskEffect::None),
            new_country: Effect::hold(24),
            new_asn: Effect::of(RiskEffect::Notify),
            impossible_travel: Effect::hold(24),
            withdrawal_velocity: Effect::of(RiskEffect::Notify),
            recent_security_change: Effect::of(RiskEffect::Notify),
            new_key: Effect::of(RiskEffect::RequireUv),
        }
    }
}

impl Effects {
    /// The effect configured for `signal`.
    pub fn of(&self, signal: RiskSignal) -> Effect {
        match signal {
            RiskSignal::NewDevice => self.new_device,
            RiskSignal::NewNetwork => self.new_network,
            RiskSignal::NewCountry => self.new_country,
            RiskSignal::NewAsn => self.new_asn,
            RiskSignal::ImpossibleTravel => self.impossible_travel,
            RiskSignal::WithdrawalVelocity => self.withdrawal_velocity,
            RiskSignal::RecentSecurityChange => self.recent_security_change,
            RiskSignal::NewKey => self.new_key,
            RiskSignal::Unknown => Effect::of(RiskEffect::Deny),
        }
    }
}

/// A signal that fired, with its facts in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// Which.
    pub signal: RiskSignal,
    /// E.g. `DE`, `2,100 km/h`.
    pub detail: Option<String>,
}

impl Fired {
    fn new(signal: RiskSignal, detail: impl Into<String>) -> Self {
        Self {
            signal,
            detail: Some(detail.into()),
        }
    }
}

/// The joined effect of the signals that fired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every signal that fired, with its effect (also those with none).
    pub reasons: Vec<RiskReason>,
    /// Someone must be told (any effect above `none`).
    pub notify: bool,
    /// The key must verify its user.
    pub require_uv: bool,
    /// The longest hold, hours (0: none), and the signal that set it.
    pub hold: Option<(u32, RiskSignal)>,
    /// The first signal that denies.
    pub deny: Option<RiskSignal>,
}

/// Joins the effects of the `fired` signals.
pub fn assess(fired: &[Fired], effects: &Effects) -> Verdict {
    let mut v = Verdict::default();
    for f in fired {
        let effect = effects.of(f.signal);
        v.reasons.push(RiskReason {
            signal: f.signal,
            effect: effect.kind,
            hold_hours: (effect.kind == RiskEffect::Hold).then_some(effect.hold_hours),
            detail: f.detail.clone(),
        });
        match effect.kind {
            RiskEffect::None => continue,
            RiskEffect::Notify => {}
            RiskEffect::RequireUv => v.require_uv = true,
            RiskEffect::Hold => {
                if v.hold.is_none_or(|(h, _)| effect.hold_hours > h) {
                    v.hold = Some((effect.hold_hours, f.signal));
                }
            }
            // An effect this version does not know fails closed.
            RiskEffect::Deny | RiskEffect::Unknown => {
                v.deny.get_or_insert(f.signal);
            }
        }
        v.notify = true;
    }
    v
}

/// Where a sign-in or approval comes from, and when.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// The device id of the browser's device cookie.
    pub device: Option<String>,
    /// IPv4 /24 or IPv6 /48 (see [`network_of`]).
    pub network: Option<String>,
    /// ISO country code, from GeoIP.
    pub country: Option<String>,
    /// Autonomous system number, from GeoIP.
    pub asn: Option<i64>,
    /// Latitude and longitude, degrees, from GeoIP.
    pub location: Option<(f64, f64)>,
    /// When.
    pub at: Millis,
}

/// The network of `ip`: its IPv4 /24 or IPv6 /48, which one household or
/// office usually keeps while the last bits change.
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// Distances under this are GeoIP noise (city-level at best), never travel.
const TRAVEL_NOISE_KM: f64 = 300.0;

/// Great-circle distance in km (haversine).
pub fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371.0 * a.sqrt().min(1.0).asin()
}

/// The sign-in signals of `now` against the account's earlier sign-ins
/// (`history`, newest first). A first sign-in has nothing to compare with
/// and fires nothing; GeoIP signals fire only when both sides have the fact.
pub fn place_signals(now: &Place, history: &[Place], max_kmh: f64) -> Vec<Fired> {
    let mut fired = Vec::new();
    if history.is_empty() {
        return fired;
    }
    if now.device.is_none() {
        fired.push(Fired {
            signal: RiskSignal::NewDevice,
            detail: None,
        });
    }
    if let Some(net) = &now.network
        && !history.iter().any(|p| p.network.as_ref() == Some(net))
    {
        fired.push(Fired::new(RiskSignal::NewNetwork, net.clone()));
    }
    if let Some(country) = &now.country
        && history.iter().any(|p| p.country.is_some())
        && !history.iter().any(|p| p.country.as_ref() == Some(country))
    {
        fired.push(Fired::new(RiskSignal::NewCountry, country.clone()));
    }
    if let Some(asn) = now.asn
        && history.iter().any(|p| p.asn.is_some())
        && !history.iter().any(|p| p.asn == Some(asn))
    {
        fired.push(Fired::new(RiskSignal::NewAsn, format!("AS{asn}")));
    }
    if let Some(here) = now.location
        && let Some(prev) = history.iter().find(|p| p.location.is_some())
        && let Some(there) = prev.location
    {
        let km = distance_km(here, there);
        // At least a minute apart: two sign-ins in the same second are
        // not an infinitely fast journey's evidence of anything else.
        let hours = ((now.at - prev.at).max(60_000)) as f64 / HOUR as f64;
        if km > TRAVEL_NOISE_KM && km / hours > max_kmh {
            let minutes = (now.at - prev.at) / 60_000;
            fired.push(Fired::new(
                RiskSignal::ImpossibleTravel,
                format!("{km:.0} km in {minutes} min"),
            ));
        }
    }
    fired
}

/// Recent withdrawals of the user, besides the one being decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Velocity {
    /// The user's other withdrawal step-ups in the last hour (counted up to
    /// one past the hourly limit).
    pub count_hour: u32,
    /// … in the last 24 hours (up to one past the daily limit).
    pub count_day: u32,
    /// Amount of this asset asked for in the last hour, base units (exact
    /// while the hourly count is under its cap).
    pub amount_hour: u128,
    /// This withdrawal's amount, base units.
    pub amount: u128,
    /// The asset's daily limit, base units.
    pub daily_limit: Option<u128>,
}

/// The velocity thresholds (`[risk]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VelocityLimits {
    /// Most withdrawals an hour.
    pub per_hour: u32,
    /// Most withdrawals a day.
    pub per_day: u32,
    /// Most of the daily limit to ask for within an hour, percent.
    pub hourly_share_percent: u32,
}

/// Fires when this withdrawal makes the user's recent ones too many or too
/// much (of the daily limit within an hour).
pub fn velocity_signal(v: &Velocity, limits: &VelocityLimits) -> Option<Fired> {
    let (hour, day) = (v.count_hour + 1, v.count_day + 1);
    // Counts stop one past their limit (the reads are bounded), so a count
    // beyond that is told as "more than".
    let detail = if hour > limits.per_hour {
        if hour == limits.per_hour + 1 {
            format!("{hour} withdrawals in an hour")
        } else {
            format!("more than {} withdrawals in an hour", limits.per_hour)
        }
    } else if day > limits.per_day {
        if day == limits.per_day + 1 {
            format!("{day} withdrawals in a day")
        } else {
            format!("more than {} withdrawals in a day", limits.per_day)
        }
    } else if let Some(limit) = v.daily_limit
        && limit > 0
        && v.amount_hour.saturating_add(v.amount).saturating_mul(100)
            > limit.saturating_mul(u128::from(limits.hourly_share_percent))
    {
        let share = v.amount_hour.saturating_add(v.amount).saturating_mul(100) / limit;
        format!("{share}% of the daily limit in an hour")
    } else {
        return None;
    };
    Some(Fired::new(RiskSignal::WithdrawalVelocity, detail))
}

/// Fires when the account's last security change is under `window` old.
pub fn recent_change_signal(
    changed_at: Option<Millis>,
    now: Millis,
    window: Millis,
) -> Option<Fired> {
    let at = changed_at?;
    (now - at < window).then(|| {
        let hours = (now - at).max(0) / HOUR;
        Fired::new(
            RiskSignal::RecentSecurityChange,
            format!("{hours} hours ago"),
        )
    })
}

/// Fires when a key enrolled at `created_at` is younger than `min_age`.
pub fn new_key_signal(created_at: Millis, now: Millis, min_age: Millis) -> Option<Fired> {
    (now - created_at < min_age).then(|| {
        let hours = (now - created_at).max(0) / HOUR;
        Fired::new(RiskSignal::NewKey, format!("enrolled {hours} hours ago"))
    })
}

#[cfg(test)]
mod tests;
