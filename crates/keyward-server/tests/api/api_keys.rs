//! User API keys: created only through a key-approved step-up with exactly
//! the approved details, verified by gateways (scope, IP allow-list, expiry,
//! revocation), and revocations in force on every instance within a second.

use std::sync::atomic::Ordering;
use std::time::Duration;

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_problem};

backend_tests!(
    create_with_a_key_approval_and_verify_scopes,
    ip_allow_lists_v4_v6_and_cidr_edges,
    keys_without_ip_list_expire,
    revoke_and_revoke_all_take_effect_at_once,
    malformed_key_is_refused_without_a_query,
    withdraw_scope_needs_an_ip_list_and_starts_a_hold,
    creation_needs_the_approved_step_up_and_exact_details,
    failed_verifications_are_rate_limited,
    frozen_user_keys_stop_verifying,
    last_use_is_recorded_in_batches,
    verify_input_and_service_scope_are_checked,
    revocation_on_one_instance_holds_on_another_within_a_second,
);

const GATEWAY: &[&str] = &["apikeys:verify"];

/// Requests, approves and creates a key; returns the create response (with the secret).
async fn new_key(app: &TestApp, user: &mut User, details: Value) -> Value {
    let (status, body) = app
        .post(&user.browser, "/v1/api-keys/step-up", details.clone())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["step_up"]["action"], "api_key.create");
    let id = body["step_up"]["id"].as_str().unwrap().to_owned();
    let (status, approved) = app.approve(user, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let mut create = details;
    create["step_up_id"] = json!(id);
    let (status, created) = app.post(&user.browser, "/v1/api-keys", create).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn verify(
    app: &TestApp,
    gw: &reqwest::Client,
    key: &str,
    scope: &str,
    ip: &str,
) -> (StatusCode, Value) {
    app.post(
        gw,
        "/v1/api-keys/verify",
        json!({ "key": key, "scope": scope, "client_ip": ip }),
    )
    .await
}

fn refused(got: &(StatusCode, Value), reason: &str) {
    assert_problem(got, StatusCode::FORBIDDEN, "api-key-refused");
    assert_eq!(got.1["reason"], reason, "{}", got.1);
}

async fn create_with_a_key_approval_and_verify_scopes(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let created = new_key(
        &app,
        &mut alice,
        json!({ "label": "bot", "scopes": ["read", "trade"] }),
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("kw_api_") && secret.starts_with(created["prefix"].as_str().unwrap())
    );
    let (status, ok) = verify(&app, &gw, &secret, "trade", "203.0.113.9").await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(ok["user_id"], alice.user_id.to_string());
    assert_eq!(ok["key_id"], created["id"]);
    assert_eq!(
        verify(&app, &gw, &secret, "read", "203.0.113.9").await.0,
        StatusCode::OK
    );
    refused(
        &verify(&app, &gw, &secret, "withdraw", "203.0.113.9").await,
        "scope_not_granted",
    );
    // Listed without the secret; the secret is never shown again.
    let (_, list) = app.get(&alice.browser, "/v1/api-keys").await;
    assert_eq!(list["api_keys"][0]["label"], "bot");
    assert!(
        !list.to_string().contains(&secret[7..]),
        "the list must not contain the secret"
    );
    let (_, audit) = app.get(&alice.browser, "/v1/audit").await;
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "api_key.created")
    );
}

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

async fn revoke_and_revoke_all_take_effect_at_once(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let one = new_key(
        &app,
        &mut alice,
        json!({ "label": "one", "scopes": ["read"] }),
    )
    .await;
    let two = new_key(
        &app,
        &mut alice,
        json!({ "label": "two", "scopes": ["read"] }),
    )
    .await;
    let three = new_key(
        &app,
        &mut alice,
        json!({ "label": "three", "scopes": ["read"] }),
    )
    .await;
    for k in [&one, &two, &three] {
        assert_eq!(
            verify(
                &app,
                &gw,
                k["secret"].as_str().unwrap(),
                "read",
                "192.0.2.1"
            )
            .await
            .0,
            StatusCode::OK
        );
    }
    let id = one["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&alice.browser, &format!("/v1/api-keys/{id}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    refused(
        &verify(
            &app,
            &gw,
            one["secret"].as_str().unwrap(),
            "read",
            "192.0.2.1",
        )
        .await,
        "revoked",
    );
    assert_problem(
        &app.delete(&alice.browser, &format!("/v1/api-keys/{id}"))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let (status, all) = app
        .post(&alice.browser, "/v1/api-keys/revoke-all", json!({}))
        .await;
    assert_eq!((status, all["revoked"].as_u64()), (StatusCode::OK, Some(2)));
    for k in [&two, &three] {
        refused(
            &verify(
                &app,
                &gw,
                k["secret"].as_str().unwrap(),
                "read",
                "192.0.2.1",
            )
            .await,
            "revoked",
        );
    }
}

async fn malformed_key_is_refused_without_a_query(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = new_key(
        &app,
        &mut alice,
        json!({ "label": "bot", "scopes": ["read"] }),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
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

async fn withdraw_scope_needs_an_ip_list_and_starts_a_hold(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let no_ips = app
        .post(
            &alice.browser,
            "/v1/api-keys/step-up",
            json!({ "label": "w", "scopes": ["withdraw"] }),
        )
        .await;
    assert_problem(&no_ips, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(no_ips.1["field"], "details.ip_allowlist");
    let details = json!({ "label": "payout bot", "scopes": ["read", "withdraw"], "ip_allowlist": ["192.0.2.10"] });
    let created = new_key(&app, &mut alice, details).await;
    assert!(
        created["expires_at"].is_null(),
        "an IP-bound key may live on"
    );
    let (_, status) = app.get(&alice.browser, "/v1/withdrawal-status").await;
    assert_eq!(status["hold_reason"], "api_key_withdraw");
    let (code, _) = verify(
        &app,
        &gw,
        created["secret"].as_str().unwrap(),
        "withdraw",
        "192.0.2.10",
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let (_, audit) = app.get(&alice.browser, "/v1/audit").await;
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "api_key.used_for_withdrawal")
    );
}

async fn creation_needs_the_approved_step_up_and_exact_details(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let details = json!({ "label": "bot", "scopes": ["read"] });
    let mut body = details.clone();
    body["step_up_id"] = json!(uuid::Uuid::new_v4());
    assert_problem(
        &app.post(&alice.browser, "/v1/api-keys", body).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let missing = app
        .post(&alice.browser, "/v1/api-keys", details.clone())
        .await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let (_, pending) = app
        .post(&alice.browser, "/v1/api-keys/step-up", details.clone())
        .await;
    let id = pending["step_up"]["id"].as_str().unwrap().to_owned();
    let mut body = details.clone();
    body["step_up_id"] = json!(id);
    assert_problem(
        &app.post(&alice.browser, "/v1/api-keys", body.clone()).await,
        StatusCode::CONFLICT,
        "not-approved",
    );
    app.approve(&mut alice, &id, &Forge::default()).await;
    // More than was approved: refused, and the approval is not spent.
    let mut wider = body.clone();
    wider["scopes"] = json!(["read", "trade"]);
    assert_problem(
        &app.post(&alice.browser, "/v1/api-keys", wider).await,
        StatusCode::CONFLICT,
        "step-up-mismatch",
    );
    assert_eq!(
        app.post(&alice.browser, "/v1/api-keys", body.clone())
            .await
            .0,
        StatusCode::CREATED
    );
    assert_problem(
        &app.post(&alice.browser, "/v1/api-keys", body).await,
        StatusCode::CONFLICT,
        "already-redeemed",
    );
    // Another user cannot use Alice's approval.
    let bob = app.enrolled("bob").await;
    let mut theirs = details;
    theirs["step_up_id"] = json!(id);
    assert_problem(
        &app.post(&bob.browser, "/v1/api-keys", theirs).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let (_, list) = app.get(&alice.browser, "/v1/api-keys").await;
    assert_eq!(list["api_keys"].as_array().unwrap().len(), 1);
}

async fn failed_verifications_are_rate_limited(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut keyward_server::Config, _| {
        c.api_keys.failures_per_minute_ip = 3
    })
    .await;
    let mut alice = app.enrolled("alice").await;
    let gw = app.service(&app.service_key(GATEWAY).await);
    let secret = new_key(
        &app,
        &mut alice,
        json!({ "label": "bot", "scopes": ["read"] }),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
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
    let secret = new_key(
        &app,
        &mut alice,
        json!({ "label": "bot", "scopes": ["read"] }),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
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
