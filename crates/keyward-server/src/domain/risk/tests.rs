//! The risk model's properties and examples.

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
    // At the cap the read stopped counting: "more than".
    let capped = Velocity {
        count_hour: 4,
        ..calm
    };
    assert_eq!(
        velocity_signal(&capped, &limits).unwrap().detail.as_deref(),
        Some("more than 3 withdrawals in an hour")
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
