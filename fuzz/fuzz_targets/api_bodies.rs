//! Every JSON request body the API accepts: the first byte picks the request
//! type, the rest is the body. Runs the server's own parse and validation
//! (`keyward_server::fuzzing::api_body`); bad input must give a 4xx problem,
//! and accepted step-up details must be canonical.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use keyward_server::config::AssetConfig;
use keyward_server::fuzzing::{Body, api_body};
use libfuzzer_sys::fuzz_target;

static ASSETS: LazyLock<BTreeMap<String, AssetConfig>> =
    LazyLock::new(|| keyward_server::Config::default().assets);

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match api_body(Body::from_selector(selector), body, &ASSETS) {
        Ok(Some(canonical)) => keyward_fuzz::check_canonical(&canonical, &ASSETS),
        Ok(None) => {}
        Err(e) => keyward_fuzz::check_problem(e, data),
    }
});
