//! Configuration: TOML text over the defaults → `Config` → `validate()`, as
//! `Config::load` does for a file (no environment). A config that is
//! accepted must then start up without panicking: the relying party is
//! built from it, and the durations the server derives
//! from it (milliseconds since the epoch plus a lifetime) must not overflow.
#![no_main]

use keyward_server::Config;
use libfuzzer_sys::fuzz_target;

/// Latest "now" the server must cope with: 2200-01-01 in milliseconds.
const NOW_MS: i64 = 7_258_118_400_000;

fn fits_ms(n: u64, unit_ms: i64) -> bool {
    i64::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .and_then(|ms| ms.checked_add(NOW_MS))
        .is_some()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_toml_str(text) else {
        return;
    };
    let _ = config.issuer();
    let _ = config.origin_header();
    let _ = config.database_url();
    let rp = keyward_fido::RelyingParty {
        id: config.rp_id.clone(),
        origin: config.origin.clone(),
        name: config.rp_name.clone(),
    };
    let _ = keyward_fido::Fido::new(&rp, keyward_fido::AttestationPolicy::Any);
    // Not `PasswordHasher::new(config.password)`: it hashes once with the
    // configured argon2 memory, which `validate()` does not bound (up to
    // 4 TiB); that is a deliberate operator choice, not parsing.
    let s = &config.session;
    let w = &config.withdrawals;
    // Every lifetime the server adds to "now" in milliseconds.
    let durations = [
        ("session.idle_minutes", s.idle),
        ("session.absolute_hours", s.absolute),
        ("ceremony_ttl_seconds", config.ceremony_ttl),
        ("reauth_window_seconds", config.reauth_window),
        ("withdrawals.step_up_ttl_seconds", w.step_up_ttl),
        ("withdrawals.approval_ttl_seconds", w.approval_ttl),
        ("withdrawals.hold_hours", w.hold),
        ("withdrawals.address_cooling_hours", w.address_cooling),
    ];
    for (name, value) in durations {
        let fits = u64::try_from(value.as_millis()).is_ok_and(|ms| fits_ms(ms, 1));
        assert!(fits, "accepted {name} = {value:?} overflows");
    }
    let days = i64::from(config.api_keys.max_days_without_ip);
    assert!(fits_ms(days as u64, 86_400_000), "max_days_without_ip");
});
