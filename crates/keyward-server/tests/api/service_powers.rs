//! What a service key can do (review findings): ask for withdrawals only,
//! see and redeem only the step-ups it created, never a user's own; and its
//! idempotency key is per user.

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp, assert_problem, withdrawal};

backend_tests!(
    a_service_asks_for_withdrawals_only,
    a_service_sees_and_redeems_only_its_own_step_ups,
    client_reference_is_per_user,
);

const SCOPES: &[&str] = &[
    "stepup:create",
    "stepup:read",
    "stepup:approve",
    "stepup:redeem",
];

/// Before: a service key could create `address.add` (and, in API mode, put
/// an address on the allow-list with one touch the user could not read)
/// and `api_key.create`.
async fn a_service_asks_for_withdrawals_only(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let alice = app.enrolled("alice").await;
    let svc = app.service(&app.service_key(SCOPES).await);
    let asks = [
        json!({ "user": "alice", "action": "address.add",
                "details": { "network": "bitcoin", "address": DEST, "label": "x" } }),
        json!({ "user": "alice", "action": "api_key.create",
                "details": { "label": "bot", "scopes": ["read"] } }),
    ];
    for ask in asks {
        let got = app.post(&svc, "/v1/step-ups", ask).await;
        assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
        assert_eq!(got.1["field"], "action", "{}", got.1);
    }
    let events = keyward_server::store::audit::for_user(&app.state.db, alice.user_id, 50)
        .await
        .unwrap();
    assert!(
        !events.iter().any(|e| e.event.starts_with("stepup.")),
        "nothing was created: {events:?}"
    );
}

/// Before: any `stepup:read` key could read every step-up, and any
/// `stepup:redeem` key could consume another service's withdrawal or a
/// user's own API-key approval.
async fn a_service_sees_and_redeems_only_its_own_step_ups(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let mine = app.service(&app.service_key(SCOPES).await);
    let theirs = app.service(&app.service_key(SCOPES).await);
    let (status, step) = app
        .post(&mine, "/v1/step-ups", withdrawal("alice", "0.1", "w-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    let id = step["id"].as_str().unwrap().to_owned();
    let path = |end: &str| format!("/v1/step-ups/{id}{end}");

    // Another service: it does not exist, whatever it tries.
    assert_problem(
        &app.get(&theirs, &path("")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    assert_problem(
        &app.post(&theirs, &path("/options"), json!({})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let (status, approved) = app.approve(&mut alice, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_problem(
        &app.post(&theirs, &path("/redeem"), json!({})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    // Its creator reads and redeems it.
    assert_eq!(app.get(&mine, &path("")).await.0, StatusCode::OK);
    assert_eq!(
        app.post(&mine, &path("/redeem"), json!({})).await.0,
        StatusCode::OK
    );

    // A step-up the user asked for in the browser is no service's.
    let add = json!({ "network": "ethereum", "address": "0x52908400098527886E0F7030069857D2E4169EE7", "label": "eth" });
    let (status, body) = app.post(&alice.browser, "/v1/addresses", add).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let own = body["step_up"]["id"].as_str().unwrap().to_owned();
    let (status, approved) = app.approve(&mut alice, &own, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    for svc in [&mine, &theirs] {
        let own_path = format!("/v1/step-ups/{own}");
        assert_problem(
            &app.get(svc, &own_path).await,
            StatusCode::NOT_FOUND,
            "not-found",
        );
        assert_problem(
            &app.post(svc, &format!("{own_path}/redeem"), json!({}))
                .await,
            StatusCode::NOT_FOUND,
            "not-found",
        );
    }
}

/// Before: the key was (service, reference), so the same reference for
/// another user returned the first user's step-up.
async fn client_reference_is_per_user(b: Backend) {
    let app = TestApp::spawn(&b).await;
    app.enrolled("alice").await;
    app.enrolled("bob").await;
    let svc = app.service(&app.service_key(SCOPES).await);
    let (status, a) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "0.1", "payout-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let (status, b2) = app
        .post(&svc, "/v1/step-ups", withdrawal("bob", "0.1", "payout-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b2}");
    assert_ne!(a["id"], b2["id"]);
    assert_ne!(a["user_id"], b2["user_id"]);
    // Per user it is still an idempotency key.
    let (status, again) = app
        .post(&svc, "/v1/step-ups", withdrawal("bob", "0.1", "payout-1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], b2["id"]);
}
