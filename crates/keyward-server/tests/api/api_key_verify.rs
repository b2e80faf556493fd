//! Gateway verification of API keys: scopes, IP allow-lists, expiry,
//! checksum refusal without a query, rate limits, frozen users, batched
//! last-use, and revocation in force on a second instance within a second.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::api_keys::{GATEWAY, new_key, read_key, refused, verify};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    ip_allow_lists_v4_v6_and_cidr_edges,
    keys_without_ip_list_expire,
    malformed_key_is_refused_without_a_query,
    failed_verifications_are_rate_limited,
    wrong_secrets_under_a_live_prefix_do_not_lock_the_key_out,
    frozen_user_keys_stop_verifying,
    verify_input_and_service_scope_are_checked,
    revocation_on_one_instance_holds_on_another_within_a_second,
    last_use_is_recorded_in_batches,
);

async fn ip_allow_lists_v4_v6_and_cidr_edges(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let details = json!({ "label": "desk", "scopes": ["read"], "ip_allowlist": ["198.51.100.7", "10.1.2.0/24", "2001:db8:abcd::/48"] });
    let secret = new_key(&app, &mut alice, details).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    for ip in [
        "198.51.100.7",
        "10.1.2.0",
        "10.1.2.255",
        "2001:db8:abcd::1",
        "2001:db8:abcd:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert_eq!(
            verify(&app, &gw, &secret, "read", ip).await.0,
            StatusCode::OK,
            "{ip} is allowed"
        );
    }
    for ip in [
        "198.51.100.8",
        "10.1.3.0",
        "10.1.1.255",
        "2001:db8:abce::1",
        "::ffff:198.51.100.8",
    ] {
        refused(
            &verify(&app, &gw, &secret, "read", ip).await,
            "ip_not_allowed",
        );
    }
    let (_, audit) = app.get(&alice.browser, "/v1/audit").await;
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "api_key.refused_ip")
    );
}

async fn keys_without_ip_list_expire(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    // Asking for a year without an IP list still gives at most 30 days.
    let created = new_key(
        &app,
        &mut alice,
        json!({ "label": "roaming", "scopes": ["read"], "expires_in_days": 365 }),
    )
    .await;
    assert!(created["expires_at"].is_string());
    let secret = created["secret"].as_str().unwrap().to_owned();
    app.advance(Duration::from_secs(29 * 86_400));
    assert_eq!(
        verify(&app, &gw, &secret, "read", "192.0.2.1").await.0,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(86_400 + 1));
    refused(
        &verify(&app, &gw, &secret, "read", "192.0.2.1").await,
        "expired",
    );
}

async fn malformed_key_is_refused_without_a_query(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = read_key(&app, &mut alice).await;
    let before = app.state.verifier.lookups.load(Ordering::Relaxed);
    let mut typo = secret.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    for bad in [
        typo.as_str(),
        &secret[..secret.len() - 1],
        "kw_api_short",
        "not a key at all",
    ] {
        refused(
            &verify(&app, &gw, bad, "read", "192.0.2.1").await,
            "malformed",
        );
    }
    assert_eq!(
        app.state.verifier.lookups.load(Ordering::Relaxed),
        before,
        "checksum failures must not reach the database"
    );
    // A well-formed key that was never issued does cost a look-up, and is unknown.
    let stranger = keyward_access::token::generate(keyward_access::token::TokenKind::ApiKey);
    refused(
        &verify(
            &app,
            &gw,
            secrecy::ExposeSecret::expose_secret(&stranger.plaintext),
            "read",
            "192.0.2.1",
        )
        .await,
        "unknown",
    );
}

async fn failed_verifications_are_rate_limited(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut keyward_server::Config, _| {
        c.api_keys.failures_per_minute_ip = 3
    })
    .await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = read_key(&app, &mut alice).await;
    for _ in 0..4 {
        refused(
            &verify(&app, &gw, "kw_api_guess", "read", "198.51.100.66").await,
            "malformed",
        );
    }
    let got = verify(&app, &gw, &secret, "read", "198.51.100.66").await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
    assert_eq!(
        verify(&app, &gw, &secret, "read", "198.51.100.67").await.0,
        StatusCode::OK,
        "other addresses are unaffected"
    );
}

/// Review finding: 11 wrong secrets written after a live key's public
/// prefix locked the genuine key out for a minute. Now the genuine key
/// always verifies; made-up tokens under that prefix are throttled, and
/// malformed ones do not count against the prefix at all.
async fn wrong_secrets_under_a_live_prefix_do_not_lock_the_key_out(b: Backend) {
    use keyward_access::token::{self, TokenKind};
    let app = TestApp::spawn_with(&b, |c: &mut keyward_server::Config, _| {
        c.api_keys.failures_per_minute_prefix = 3;
        c.api_keys.failures_per_minute_ip = 1000;
    })
    .await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = read_key(&app, &mut alice).await;
    let shown = &secret[..TokenKind::ApiKey.prefix().len() + token::DISPLAY_LEN];
    let body_start = TokenKind::ApiKey.prefix().len();
    let forged = |i: usize| {
        // Same public prefix, another secret, a valid checksum.
        let mut body = secret[body_start..body_start + token::BODY_LEN].to_owned();
        body.replace_range(token::BODY_LEN - 4.., &format!("{i:04}"));
        token::assemble(TokenKind::ApiKey, &body)
    };
    // Malformed tokens under the prefix: refused, never counted for it.
    for _ in 0..10 {
        let typo = format!("{shown}{}", "x".repeat(10));
        refused(
            &verify(&app, &gw, &typo, "read", "198.51.100.1").await,
            "malformed",
        );
    }
    assert_eq!(
        verify(&app, &gw, &forged(0), "read", "198.51.100.1")
            .await
            .1["reason"],
        "unknown"
    );
    // Well-formed guesses exhaust the prefix's allowance…
    let mut throttled = 0;
    for i in 1..=11 {
        let got = verify(&app, &gw, &forged(i), "read", "198.51.100.2").await;
        if got.0 == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        } else {
            refused(&got, "unknown");
        }
    }
    assert!(throttled >= 7, "{throttled} of 11 guesses throttled");
    // …but the genuine key still verifies, from anywhere.
    for ip in ["198.51.100.2", "198.51.100.3"] {
        let got = verify(&app, &gw, &secret, "read", ip).await;
        assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    }
    // The limiter's maps are pruned once their entries no longer matter.
    let (ips, prefixes, _) = app.state.verifier.tracked();
    assert!(ips >= 2 && prefixes >= 1, "{ips} {prefixes}");
}

async fn frozen_user_keys_stop_verifying(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = new_key(
        &app,
        &mut alice,
        json!({ "label": "bot", "scopes": ["trade"] }),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        verify(&app, &gw, &secret, "trade", "192.0.2.1").await.0,
        StatusCode::OK
    );
    app.post(&alice.browser, "/v1/freeze", json!({})).await;
    refused(
        &verify(&app, &gw, &secret, "trade", "192.0.2.1").await,
        "user_frozen",
    );
}

async fn verify_input_and_service_scope_are_checked(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let other = app.service(&app.service_key(&["stepup:create"]).await);
    let bad_ip = app
        .post(
            &gw,
            "/v1/api-keys/verify",
            json!({ "key": "kw_api_x", "scope": "read", "client_ip": "999.1.1.1" }),
        )
        .await;
    assert_problem(&bad_ip, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(bad_ip.1["field"], "client_ip");
    let bad_scope = app
        .post(
            &gw,
            "/v1/api-keys/verify",
            json!({ "key": "kw_api_x", "scope": "admin", "client_ip": "192.0.2.1" }),
        )
        .await;
    assert_problem(&bad_scope, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let missing = app
        .post(&gw, "/v1/api-keys/verify", json!({ "key": "kw_api_x" }))
        .await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let unscoped = app
        .post(
            &other,
            "/v1/api-keys/verify",
            json!({ "key": "kw_api_x", "scope": "read", "client_ip": "192.0.2.1" }),
        )
        .await;
    assert_problem(&unscoped, StatusCode::FORBIDDEN, "insufficient-scope");
    let anonymous = app
        .post(&reqwest::Client::new(), "/v1/api-keys/verify", json!({}))
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "invalid-service-key");
}

async fn revocation_on_one_instance_holds_on_another_within_a_second(b: Backend) {
    let a = TestApp::spawn(&b).await;
    let b2 = a.spawn_beside().await;
    let mut alice = a.enrolled("alice").await;
    let token = a.service_key(GATEWAY).await;
    let (gw_a, gw_b) = (a.service(&token), b2.service(&token));
    let secret = new_key(
        &a,
        &mut alice,
        json!({ "label": "bot", "scopes": ["read"] }),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Instance B has it cached.
    assert_eq!(
        verify(&b2, &gw_b, &secret, "read", "192.0.2.1").await.0,
        StatusCode::OK
    );
    assert_eq!(
        verify(&b2, &gw_b, &secret, "read", "192.0.2.1").await.0,
        StatusCode::OK
    );
    let id = {
        let (_, list) = a.get(&alice.browser, "/v1/api-keys").await;
        list["api_keys"][0]["id"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        a.delete(&alice.browser, &format!("/v1/api-keys/{id}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    refused(
        &verify(&a, &gw_a, &secret, "read", "192.0.2.1").await,
        "revoked",
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    refused(
        &verify(&b2, &gw_b, &secret, "read", "192.0.2.1").await,
        "revoked",
    );
}

async fn last_use_is_recorded_in_batches(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = read_key(&app, &mut alice).await;
    for _ in 0..20 {
        assert_eq!(
            verify(&app, &gw, &secret, "read", "192.0.2.1").await.0,
            StatusCode::OK
        );
    }
    // Twenty verifications, no write each: the background flush (every 5 s)
    // writes the latest use once.
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    loop {
        let (_, list) = app.get(&alice.browser, "/v1/api-keys").await;
        if list["api_keys"][0]["last_used_at"].is_string() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "last use never recorded"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
