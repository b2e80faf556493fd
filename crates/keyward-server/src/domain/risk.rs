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
    /// Withdrawal step-ups in the last hour.
    pub count_hour: u32,
    /// Withdrawal step-ups in the last 24 hours.
    pub count_day: u32,
    /// Amount of this asset asked for in the last hour, base units.
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
    let detail = if hour > limits.per_hour {
        format!("{hour} withdrawals in an hour")
    } else if day > limits.per_day {
        format!("{day} withdrawals in a day")
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
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SIGNALS: [RiskSignal; 8] = [
        RiskSignal::NewDevice,
        RiskSignal::NewNetwork,
        RiskSignal::NewCountry,
        RiskSignal::NewAsn,
        RiskSignal::ImpossibleTravel,
        RiskSignal::WithdrawalVelocity,
        RiskSignal::RecentSecurityChange,
        RiskSignal::NewKey,
    ];

    fn effect() -> impl Strategy<Value = Effect> {
        prop_oneof![
            Just(Effect::of(RiskEffect::None)),
            Just(Effect::of(RiskEffect::Notify)),
            Just(Effect::of(RiskEffect::RequireUv)),
            (1u32..100).prop_map(Effect::hold),
            Just(Effect::of(RiskEffect::Deny)),
        ]
    }

    /// `f` is at least as strong as `e`: a denial beats all; `none` is
    /// beaten by all, `notify` by all but `none`; otherwise the same kind
    /// (a hold with at least the hours). A hold does not imply a user
    /// verification, so neither is stronger than the other.
    fn at_least(e: Effect, f: Effect) -> bool {
        use RiskEffect::*;
        match (e.kind, f.kind) {
            (_, Deny) | (None, _) => true,
            (Notify, k) => k != None,
            (a, b) => a == b && f.hold_hours >= e.hold_hours,
        }
    }

    fn effects() -> impl Strategy<Value = [Effect; 8]> {
        proptest::array::uniform8(effect())
    }

    fn table(e: [Effect; 8]) -> Effects {
        Effects {
            new_device: e[0],
            new_network: e[1],
            new_country: e[2],
            new_asn: e[3],
            impossible_travel: e[4],
            withdrawal_velocity: e[5],
            recent_security_change: e[6],
            new_key: e[7],
        }
    }

    /// `b` is at least as strict as `a`.
    fn no_looser(a: &Verdict, b: &Verdict) -> bool {
        b.deny.is_some()
            || a.deny.is_none()
                && (!a.require_uv || b.require_uv)
                && (!a.notify || b.notify)
                && a.hold.map_or(0, |h| h.0) <= b.hold.map_or(0, |h| h.0)
    }

    fn fired(mask: u8) -> Vec<Fired> {
        SIGNALS
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, s)| Fired {
                signal: *s,
                detail: None,
            })
            .collect()
    }

    proptest! {
        /// One more signal, or a stronger configured effect, never loosens.
        #[test]
        fn effects_only_tighten(
            base in effects(),
            mask in any::<u8>(),
            extra in any::<u8>(),
            which in 0usize..8,
            other in effect(),
        ) {
            let before = assess(&fired(mask), &table(base));
            let more = assess(&fired(mask | extra), &table(base));
            prop_assert!(no_looser(&before, &more), "{before:?} -> {more:?}");
            prop_assume!(at_least(base[which], other));
            let mut raised = base;
            raised[which] = other;
            let after = assess(&fired(mask), &table(raised));
            prop_assert!(no_looser(&before, &after), "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn effects_read_and_write_as_configured() {
        for s in ["none", "notify", "require_uv", "deny", "hold 24h"] {
            let e = Effect::try_from(s.to_owned()).unwrap();
            assert_eq!(String::from(e), s);
        }
        assert_eq!(Effect::try_from("hold 2".to_owned()), Ok(Effect::hold(2)));
        for bad in ["hold", "hold 0h", "hold 9999h", "block", "unknown", ""] {
            assert!(Effect::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_longest_hold_and_the_first_denial_win() {
        let e = Effects {
            new_country: Effect::hold(6),
            impossible_travel: Effect::hold(48),
            new_device: Effect::of(RiskEffect::Deny),
            ..Effects::default()
        };
        let v = assess(&fired(0b1_0101), &e);
        assert_eq!(v.hold, Some((48, RiskSignal::ImpossibleTravel)));
        assert_eq!(v.deny, Some(RiskSignal::NewDevice));
        assert_eq!(v.reasons.len(), 3);
        let quiet = assess(&fired(0b10), &e);
        assert!(!quiet.notify, "new_network is `none` by default");
        assert_eq!(quiet.reasons.len(), 1, "but still a reason");
    }

    fn at(device: Option<&str>, net: &str, country: &str, loc: (f64, f64), at: Millis) -> Place {
        Place {
            device: device.map(str::to_owned),
            network: Some(net.into()),
            country: Some(country.into()),
            asn: Some(64_500),
            location: Some(loc),
            at,
        }
    }

    const BERLIN: (f64, f64) = (52.52, 13.40);
    const POTSDAM: (f64, f64) = (52.39, 13.06);
    const SYDNEY: (f64, f64) = (-33.87, 151.21);

    #[test]
    fn places_compare_with_the_history() {
        let home = at(Some("d1"), "198.51.100.0/24", "DE", BERLIN, 0);
        let history = vec![home.clone()];
        assert!(
            place_signals(&home, &[], 1_000.0).is_empty(),
            "first sign-in"
        );
        let again = Place {
            at: HOUR,
            ..home.clone()
        };
        assert!(place_signals(&again, &history, 1_000.0).is_empty());
        let nearby = Place {
            device: None,
            location: Some(POTSDAM),
            at: 60_000,
            ..home.clone()
        };
        let signals: Vec<_> = place_signals(&nearby, &history, 1_000.0)
            .into_iter()
            .map(|f| f.signal)
            .collect();
        assert_eq!(signals, [RiskSignal::NewDevice], "25 km is no journey");
        let far = at(Some("d1"), "203.0.113.0/24", "AU", SYDNEY, 2 * HOUR);
        let far = Place {
            asn: Some(64_501),
            ..far
        };
        let fired = place_signals(&far, &history, 1_000.0);
        let signals: Vec<_> = fired.iter().map(|f| f.signal).collect();
        assert_eq!(
            signals,
            [
                RiskSignal::NewNetwork,
                RiskSignal::NewCountry,
                RiskSignal::NewAsn,
                RiskSignal::ImpossibleTravel
            ]
        );
        assert_eq!(fired[1].detail.as_deref(), Some("AU"));
        assert_eq!(fired[2].detail.as_deref(), Some("AS64501"));
        let later = Place {
            at: 30 * HOUR,
            ..far
        };
        assert!(
            !place_signals(&later, &history, 1_000.0)
                .iter()
                .any(|f| f.signal == RiskSignal::ImpossibleTravel),
            "16,000 km in 30 hours is a flight"
        );
    }

    #[test]
    fn distances_and_networks() {
        let d = distance_km(BERLIN, SYDNEY);
        assert!((16_000.0..16_200.0).contains(&d), "{d}");
        assert_eq!(network_of("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(
            network_of("2001:db8:aa:1::5".parse().unwrap()),
            "2001:db8:aa::/48"
        );
    }

    #[test]
    fn velocity_counts_and_amounts() {
        let limits = VelocityLimits {
            per_hour: 3,
            per_day: 5,
            hourly_share_percent: 50,
        };
        let calm = Velocity {
            count_hour: 1,
            count_day: 2,
            amount_hour: 10,
            amount: 10,
            daily_limit: Some(100),
        };
        assert_eq!(velocity_signal(&calm, &limits), None);
        let many = Velocity {
            count_hour: 3,
            ..calm
        };
        assert_eq!(
            velocity_signal(&many, &limits).unwrap().detail.as_deref(),
            Some("4 withdrawals in an hour")
        );
        let daily = Velocity {
            count_day: 5,
            ..calm
        };
        assert!(velocity_signal(&daily, &limits).is_some());
        let much = Velocity {
            amount_hour: 45,
            ..calm
        };
        assert_eq!(
            velocity_signal(&much, &limits).unwrap().detail.as_deref(),
            Some("55% of the daily limit in an hour")
        );
        let unlimited = Velocity {
            amount_hour: 1_000,
            daily_limit: None,
            ..calm
        };
        assert_eq!(velocity_signal(&unlimited, &limits), None);
    }

    #[test]
    fn changes_and_keys_age() {
        assert!(recent_change_signal(Some(0), 71 * HOUR, 72 * HOUR).is_some());
        assert!(recent_change_signal(Some(0), 72 * HOUR, 72 * HOUR).is_none());
        assert!(recent_change_signal(None, 0, 72 * HOUR).is_none());
        let young = new_key_signal(0, 5 * HOUR, 24 * HOUR).unwrap();
        assert_eq!(young.detail.as_deref(), Some("enrolled 5 hours ago"));
        assert!(new_key_signal(0, 24 * HOUR, 24 * HOUR).is_none());
    }
}
