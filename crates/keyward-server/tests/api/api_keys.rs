//! User API keys: created only through a key-approved step-up with exactly
//! the approved details; listed without the secret; revoked at once. The
//! gateway side is in `api_key_verify.rs`.

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_problem};

backend_tests!(
    create_with_a_key_approval_and_verify_scopes,
    revoke_and_revoke_all_take_effect_at_once,
    withdraw_scope_needs_an_ip_list_and_starts_a_hold,
    creation_needs_the_approved_step_up_and_exact_details,
);

pub(crate) const GATEWAY: &[&str] = &["apikeys:verify"];

/// Requests, approves and creates a key; returns the create response (with the secret).
pub(crate) async fn new_key(app: &TestApp, user: &mut User, details: Value) -> Value {
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

/// A read-only key ("bot", no allow-list) made with a key approval; its secret.
pub(crate) async fn read_key(app: &TestApp, user: &mut User) -> String {
    let details = json!({ "label": "bot", "scopes": ["read"] });
    new_key(app, user, details).await["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn verify(
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

pub(crate) fn refused(got: &(StatusCode, Value), reason: &str) {
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
        created["expires_at"].is_string(),
        "an IP-bound key expires too (later)"
    );
    let (_, status) = app.get(&alice.browser, "/v1/withdrawal-status").await;
    assert_eq!(status["hold_reason"], "api_key_withdraw");
    let secret = created["secret"].as_str().unwrap();
    // The hold applies to the key itself: it cannot withdraw until it ends
    // (before, the key verified for `withdraw` at once).
    refused(
        &verify(&app, &gw, secret, "withdraw", "192.0.2.10").await,
        "held",
    );
    let read = verify(&app, &gw, secret, "read", "192.0.2.10").await;
    assert_eq!(read.0, StatusCode::OK, "other scopes are not held");
    app.advance(std::time::Duration::from_secs(24 * 3600 + 1));
    let (code, _) = verify(&app, &gw, secret, "withdraw", "192.0.2.10").await;
    assert_eq!(code, StatusCode::OK);
    alice.browser = app.sign_in(&mut alice).await;
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
