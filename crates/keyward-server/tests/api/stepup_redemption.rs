//! Redeeming an approved step-up: once and only once (also under
//! concurrency), never after it or its approval expired, never with stored
//! details that no longer match their digest; and the approval token checks
//! out with nothing but the published JWKS.

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};
use crate::stepups::{SERVICE, create};

backend_tests!(
    approval_is_single_use,
    expired_step_up_and_expired_approval,
    tampered_stored_details_fail_closed_at_redeem,
    redeem_twice_conflicts,
    concurrent_redeems_succeed_once,
    approval_token_verifies_with_only_the_jwks,
);

async fn approval_is_single_use(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let id = create(&app, &svc, "alice", "1", "w").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, options) = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/options"),
            json!({}),
        )
        .await;
    let credential = alice.key.assert(&options, &app.origin);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    assert_eq!(
        app.post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/verify"),
            body.clone()
        )
        .await
        .0,
        StatusCode::OK
    );
    let replay = app
        .post(&alice.browser, &format!("/v1/step-ups/{id}/verify"), body)
        .await;
    assert_problem(&replay, StatusCode::CONFLICT, "step-up-not-pending");
    // A fresh ceremony cannot re-approve either.
    let again = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/options"),
            json!({}),
        )
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "step-up-not-pending");
}

async fn expired_step_up_and_expired_approval(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let late = create(&app, &svc, "alice", "1", "late").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, options) = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{late}/options"),
            json!({}),
        )
        .await;
    let credential = alice.key.assert(&options, &app.origin);
    app.advance(std::time::Duration::from_secs(301));
    alice.browser = app.sign_in(&mut alice).await;
    let got = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{late}/verify"),
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_problem(&got, StatusCode::GONE, "step-up-expired");
    let (_, seen) = app.get(&svc, &format!("/v1/step-ups/{late}")).await;
    assert_eq!(seen["status"], "expired");
    // Approved in time, redeemed too late.
    let slow = create(&app, &svc, "alice", "1", "slow").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.approve(&mut alice, &slow, &Forge::default()).await.0,
        StatusCode::OK
    );
    app.advance(std::time::Duration::from_secs(301));
    assert_problem(
        &app.post(&svc, &format!("/v1/step-ups/{slow}/redeem"), json!({}))
            .await,
        StatusCode::GONE,
        "approval-expired",
    );
}

async fn tampered_stored_details_fail_closed_at_redeem(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let id = create(&app, &svc, "alice", "0.1", "w").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.approve(&mut alice, &id, &Forge::default()).await.0,
        StatusCode::OK
    );
    // Someone with database access raises the amount after approval.
    let uuid: uuid::Uuid = id.parse().unwrap();
    let db = &app.state.db;
    crate::on_db!(db, c => sqlx::query("UPDATE step_ups SET details = REPLACE(details, '\"0.1\"', '\"9\"') WHERE id = $1")
        .bind(uuid).execute(c).await.unwrap().rows_affected());
    let got = app
        .post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
        .await;
    assert_problem(&got, StatusCode::CONFLICT, "policy-refused");
    assert_eq!(got.1["reason"], "details_invalid");
}

async fn redeem_twice_conflicts(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let id = create(&app, &svc, "alice", "1", "w").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        &app.post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "not-approved",
    );
    app.approve(&mut alice, &id, &Forge::default()).await;
    assert_eq!(
        app.post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    assert_problem(
        &app.post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "already-redeemed",
    );
    let unknown = uuid::Uuid::new_v4();
    assert_problem(
        &app.post(&svc, &format!("/v1/step-ups/{unknown}/redeem"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
}

async fn concurrent_redeems_succeed_once(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let id = create(&app, &svc, "alice", "1", "w").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.approve(&mut alice, &id, &Forge::default()).await;
    let path = format!("/v1/step-ups/{id}/redeem");
    let results =
        futures::future::join_all((0..200).map(|_| app.post(&svc, &path, json!({})))).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let conflicts = results
        .iter()
        .filter(|(s, b)| {
            *s == StatusCode::CONFLICT && b["type"].as_str().unwrap().ends_with("already-redeemed")
        })
        .count();
    assert_eq!((ok, conflicts), (1, 199), "exactly one redeem may succeed");
}

async fn approval_token_verifies_with_only_the_jwks(b: Backend) {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let step = create(&app, &svc, "alice", "1", "w").await;
    let id = step["id"].as_str().unwrap();
    let (_, approved) = app.approve(&mut alice, id, &Forge::default()).await;
    let token = approved["approval"].as_str().unwrap();
    // What an exchange does: fetch the JWKS, pick the key by kid, verify.
    let jwks: JwkSet = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).expect("the token's kid is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["keyward-step-up"]);
    validation.set_issuer(&[app.origin.as_str()]);
    let claims =
        decode::<serde_json::Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sid"], id);
    assert_eq!(claims["sub"], alice.user_id.to_string());
    assert_eq!(claims["action"], "withdrawal");
    assert_eq!(claims["details_digest"], step["digest"]);
    assert_eq!(claims["uv"], true);
    // A token whose payload was edited does not verify.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replace('A', "B");
    let forged = parts.join(".");
    assert!(
        decode::<serde_json::Value>(&forged, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .is_err()
    );
}
