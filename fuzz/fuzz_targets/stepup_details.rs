//! The step-up details canonicaliser: the first byte picks the action, the
//! rest is the details JSON. Accepted details must be canonical and stable
//! (re-parse and re-canonicalise to the same bytes and digest); refused ones
//! must be a 4xx problem.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use keyward_server::config::AssetConfig;
use libfuzzer_sys::fuzz_target;

static ASSETS: LazyLock<BTreeMap<String, AssetConfig>> =
    LazyLock::new(|| keyward_server::Config::default().assets);

const ACTIONS: [&str; 4] = ["withdrawal", "address.add", "api_key.create", "transfer"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, details)) = data.split_first() else {
        return;
    };
    let action = ACTIONS[usize::from(selector) % ACTIONS.len()];
    match keyward_server::fuzzing::stepup_details(action, details, &ASSETS) {
        Some(Ok(canonical)) => keyward_fuzz::check_canonical(&canonical, &ASSETS),
        Some(Err(e)) => keyward_fuzz::check_problem(e, data),
        None => {}
    }
});
