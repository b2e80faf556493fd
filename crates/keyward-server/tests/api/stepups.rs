//! Step-up approvals end to end: a service creates a withdrawal step-up, the
//! user approves it with a key (browser mode or API mode), the service
//! redeems it exactly once — and every way that can be abused is refused.

use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem, assert_refused, withdrawal};

backend_tests!(
    browser_mode_create_approve_redeem,
    api_mode_service_forwards_the_assertion,
    assertion_for_one_step_up_cannot_approve_another,
    another_users_key_or_session_cannot_approve,
    withdrawals_require_user_verification,
    client_reference_is_an_idempotency_key,
    the_owner_declines_and_nothing_can_approve_it_after,
);

pub(crate) const SERVICE: &[&str] = &["stepup:create", "stepup:read", "stepup:redeem"];

pub(crate) async fn create(
    app: &TestApp,
    svc: &reqwest::Client,
    user: &str,
    amount: &str,
    reference: &str,
) -> serde_json::Value {
    let (status, body) = app
        .post(svc, "/v1/step-ups", withdrawal(user, amount, reference))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn browser_mode_create_approve_redeem(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let step = create(&app, &svc, "alice", "0.5", "payout-1").await;
    assert_eq!(step["status"], "pending");
    assert_eq!(step["details"]["amount"], "0.5");
    assert_eq!(step["digest"].as_str().unwrap().len(), 64);
    let id = step["id"].as_str().unwrap();
    assert!(
        step["confirm_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/confirm/{id}"))
    );

    let (status, approved) = app.approve(&mut alice, id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert!(approved["approval"].as_str().unwrap().split('.').count() == 3);

    let (_, seen) = app.get(&svc, &format!("/v1/step-ups/{id}")).await;
    assert_eq!(seen["status"], "approved");
    let (status, redeemed) = app
        .post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{redeemed}");
    assert_eq!(redeemed["status"], "redeemed");
    assert_eq!(
        redeemed["details"], step["details"],
        "the service gets back exactly what was approved"
    );
    assert_eq!(redeemed["digest"], step["digest"]);
    assert_eq!(redeemed["user_verified"], true);
    let (_, audit) = app.get(&alice.browser, "/v1/audit").await;
    let events: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        &events[..3],
        ["stepup.redeemed", "stepup.approved", "stepup.pending"]
    );
}

async fn api_mode_service_forwards_the_assertion(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(
        &app.service_key(&["stepup:create", "stepup:approve", "stepup:redeem"])
            .await,
    );
    let id = create(&app, &svc, &alice.user_id.to_string(), "1", "p-2").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The exchange's own page got these options from its back end...
    let (status, options) = app
        .post(&svc, &format!("/v1/step-ups/{id}/options"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert_eq!(options["step_up"]["details"]["amount"], "1");
    // ...the user's key answered in the browser, and the back end forwards it.
    let credential = alice.key.assert(&options, &app.origin);
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let (status, approved) = app
        .post(&svc, &format!("/v1/step-ups/{id}/verify"), body)
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let (status, _) = app
        .post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Without the approve scope a service cannot answer for the user.
    let plain = app.service(&app.service_key(SERVICE).await);
    let other = create(&app, &plain, "alice", "1", "p-3").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        &app.post(&plain, &format!("/v1/step-ups/{other}/options"), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "insufficient-scope",
    );
}

async fn assertion_for_one_step_up_cannot_approve_another(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let small = create(&app, &svc, "alice", "0.01", "small").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let large = create(&app, &svc, "alice", "9", "large").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, small_opts) = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{small}/options"),
            json!({}),
        )
        .await;
    let (_, large_opts) = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{large}/options"),
            json!({}),
        )
        .await;
    assert_ne!(
        small_opts["publicKey"]["challenge"],
        large_opts["publicKey"]["challenge"]
    );
    // The user signed the small withdrawal; an attacker submits it for the large one.
    let signed_small = alice.key.assert(&small_opts, &app.origin);
    let with_small_ceremony =
        json!({ "ceremony": small_opts["ceremony"], "credential": signed_small });
    let got = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{large}/verify"),
            with_small_ceremony,
        )
        .await;
    assert_problem(&got, StatusCode::CONFLICT, "ceremony-unknown");
    let with_large_ceremony =
        json!({ "ceremony": large_opts["ceremony"], "credential": signed_small });
    let got = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{large}/verify"),
            with_large_ceremony,
        )
        .await;
    assert_refused(&got, "challenge_mismatch");
    let (_, seen) = app.get(&svc, &format!("/v1/step-ups/{large}")).await;
    assert_eq!(seen["status"], "pending");
    assert_problem(
        &app.post(&svc, &format!("/v1/step-ups/{large}/redeem"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "not-approved",
    );
}

async fn another_users_key_or_session_cannot_approve(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let mut mallory = app.enrolled("mallory").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let id = create(&app, &svc, "alice", "1", "w").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Mallory's session does not see Alice's step-up.
    let got = app
        .post(
            &mallory.browser,
            &format!("/v1/step-ups/{id}/options"),
            json!({}),
        )
        .await;
    assert_problem(&got, StatusCode::NOT_FOUND, "not-found");
    // Mallory's key answering Alice's challenge (credential not Alice's).
    let (_, options) = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/options"),
            json!({}),
        )
        .await;
    let forge = Forge {
        credential_id: Some(mallory.key.credential_ids()[0].clone()),
        ..Forge::default()
    };
    let credential = mallory.key.assert_with(&options, &app.origin, &forge);
    let got = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/verify"),
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_refused(&got, "credential_not_allowed");
    let (_, seen) = app.get(&svc, &format!("/v1/step-ups/{id}")).await;
    assert_eq!(seen["status"], "pending");
    let _ = &mut mallory;
    alice.key = SoftKey::new();
}

async fn withdrawals_require_user_verification(b: Backend) {
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
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let credential = alice.key.assert_with(
        &options,
        &app.origin,
        &Forge {
            user_verified: Some(false),
            ..Forge::default()
        },
    );
    let got = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/verify"),
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_refused(&got, "user_not_verified");
    let (_, seen) = app.get(&svc, &format!("/v1/step-ups/{id}")).await;
    assert_eq!(seen["status"], "pending");
}

async fn client_reference_is_an_idempotency_key(b: Backend) {
    let app = TestApp::spawn(&b).await;
    app.withdrawal_ready("alice").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let first = create(&app, &svc, "alice", "1", "order-77").await;
    let (status, again) = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "1.0", "order-77"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"], "same request, same step-up");
    let changed = app
        .post(&svc, "/v1/step-ups", withdrawal("alice", "2", "order-77"))
        .await;
    assert_problem(&changed, StatusCode::CONFLICT, "idempotency-conflict");
}

async fn the_owner_declines_and_nothing_can_approve_it_after(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.withdrawal_ready("alice").await;
    let bob = app.enrolled("bob").await;
    let svc = app.service(&app.service_key(SERVICE).await);
    let id = create(&app, &svc, "alice", "1", "w-decline").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/step-ups/{id}/decline");
    // Not someone else's to decline, nor a service's.
    let foreign = app.post(&bob.browser, &path, json!({})).await;
    assert_problem(&foreign, StatusCode::NOT_FOUND, "not-found");
    assert_eq!(
        app.post(&svc, &path, json!({})).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = app.post(&alice.browser, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "declined");
    // Declined is final: no second decline, no key challenge, no redeem.
    let again = app.post(&alice.browser, &path, json!({})).await;
    assert_problem(&again, StatusCode::CONFLICT, "step-up-not-pending");
    let options = app
        .post(
            &alice.browser,
            &format!("/v1/step-ups/{id}/options"),
            json!({}),
        )
        .await;
    assert_problem(&options, StatusCode::CONFLICT, "step-up-not-pending");
    let redeem = app
        .post(&svc, &format!("/v1/step-ups/{id}/redeem"), json!({}))
        .await;
    assert_eq!(redeem.0, StatusCode::CONFLICT, "{}", redeem.1);
    let (_, seen) = app.get(&svc, &format!("/v1/step-ups/{id}")).await;
    assert_eq!(seen["status"], "declined");
    let events = keyward_server::store::audit::for_user(&app.state.db, alice.user_id, 50)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.event == "stepup.declined"));
    let _ = &mut alice;
}
