//! The two-person rule for operators (issue 18): lifting the global freeze,
//! unlocking an account and an operator-assisted recovery wait for a second
//! operator (another admin key, by another name) within the window; locks
//! stay immediate. Test clock throughout.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};
use crate::recovery::complete;

backend_tests!(
    an_unlock_waits_for_a_second_operator,
    a_request_expires_or_is_cancelled,
    an_assisted_recovery_is_delayed_and_cancellable,
    the_global_unfreeze_waits_for_a_second_operator,
);

/// Two operators' admin clients.
async fn operators(app: &TestApp) -> (reqwest::Client, reqwest::Client) {
    let a = app.named_service_key("operator-a", &["admin"]).await;
    let b = app.named_service_key("operator-b", &["admin"]).await;
    (app.service(&a), app.service(&b))
}

fn reason(why: &str) -> Value {
    json!({ "reason": why })
}

async fn decide(app: &TestApp, who: &reqwest::Client, id: &str, what: &str) -> (StatusCode, Value) {
    app.post(who, &format!("/v1/admin/requests/{id}/{what}"), json!({}))
        .await
}

async fn an_unlock_waits_for_a_second_operator(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let (a, second) = operators(&app).await;
    let mut alice = app.enrolled("alice").await;
    // Locking is immediate for one operator.
    let (status, body) = app.post(&a, "/v1/admin/users/Alice/lock", json!({})).await;
    assert_eq!(
        (status, &body["locked_now"]),
        (StatusCode::OK, &json!(true))
    );
    assert_eq!(
        app.get(&alice.browser, "/v1/keys").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Unlocking is a request.
    let (status, asked) = app
        .post(&a, "/v1/admin/users/alice/unlock", reason("ticket 12"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    assert_eq!(
        (&asked["status"], &asked["action"], &asked["username"]),
        (&json!("pending"), &json!("user_unlock"), &json!("alice"))
    );
    let id = asked["id"].as_str().unwrap().to_owned();
    // One pending request per action and account.
    let twice = app
        .post(&second, "/v1/admin/users/alice/unlock", reason("again"))
        .await;
    assert_problem(&twice, StatusCode::CONFLICT, "operator-request-pending");
    assert!(twice.1["detail"].as_str().unwrap().contains(&id));
    // The asker cannot approve; nor can a key without the admin scope.
    let own = decide(&app, &a, &id, "approve").await;
    assert_problem(&own, StatusCode::FORBIDDEN, "same-operator");
    let svc = app.service(&app.named_service_key("gateway", &["stepup:read"]).await);
    let scope = decide(&app, &svc, &id, "approve").await;
    assert_problem(&scope, StatusCode::FORBIDDEN, "insufficient-scope");
    let body = json!({ "username": alice.username, "password": alice.password });
    let still = app.post(&app.browser(), "/v1/signin/password", body).await;
    assert_problem(&still, StatusCode::TOO_MANY_REQUESTS, "account-locked");
    // The second operator approves: carried out once.
    let (status, done) = decide(&app, &second, &id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        (&done["request"]["status"], &done["request"]["decided_by"]),
        (&json!("approved"), &json!("operator-b"))
    );
    assert!(done["recovery"].is_null());
    app.sign_in(&mut alice).await;
    let again = decide(&app, &second, &id, "approve").await;
    assert_problem(&again, StatusCode::CONFLICT, "operator-request-closed");
    let late = decide(&app, &a, &id, "cancel").await;
    assert_problem(&late, StatusCode::CONFLICT, "operator-request-closed");
    // Shown in the list, audited.
    let (_, list) = app.get(&second, "/v1/admin/requests").await;
    assert_eq!(list["requests"][0]["id"], json!(id), "{list}");
    let events = keyward_server::store::audit::for_user(&app.state.db, alice.user_id, 100)
        .await
        .unwrap();
    let unlocked = events
        .iter()
        .find(|e| e.event == "account.unlocked")
        .expect("account.unlocked audited");
    assert!(
        unlocked
            .detail
            .contains("service:operator-a approved by service:operator-b"),
        "{}",
        unlocked.detail
    );
    // Failure cases change nothing.
    for (path, slug, status) in [
        (
            "/v1/admin/users/nobody/unlock",
            "not-found",
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/admin/users/x/unlock",
            "validation",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/admin/requests/not-an-id/approve",
            "not-found",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let got = app.post(&a, path, reason("r")).await;
        assert_problem(&got, status, slug);
    }
    let unknown = format!("/v1/admin/requests/{}", uuid::Uuid::new_v4());
    assert_problem(
        &app.get(&a, &unknown).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let blank = app
        .post(&a, "/v1/admin/users/alice/unlock", reason("  "))
        .await;
    assert_problem(&blank, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let (_, list) = app.get(&a, "/v1/admin/requests").await;
    assert_eq!(list["requests"].as_array().unwrap().len(), 1, "{list}");
}

async fn a_request_expires_or_is_cancelled(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let (a, second) = operators(&app).await;
    app.enrolled("bob").await;
    let (_, asked) = app
        .post(&a, "/v1/admin/users/bob/unlock", reason("ticket 1"))
        .await;
    let id = asked["id"].as_str().unwrap().to_owned();
    // The window (60 minutes by default) passes.
    app.advance(Duration::from_secs(3_601));
    let late = decide(&app, &second, &id, "approve").await;
    assert_problem(&late, StatusCode::CONFLICT, "operator-request-closed");
    assert!(late.1["detail"].as_str().unwrap().contains("expired"));
    let (_, shown) = app.get(&second, &format!("/v1/admin/requests/{id}")).await;
    assert_eq!(shown["status"], "expired", "{shown}");
    // An expired request no longer blocks a new one; the asker may cancel.
    let (status, asked) = app
        .post(&a, "/v1/admin/users/bob/unlock", reason("ticket 2"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    let id = asked["id"].as_str().unwrap().to_owned();
    let (status, cancelled) = decide(&app, &a, &id, "cancel").await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["request"]["status"], "cancelled");
    let after = decide(&app, &second, &id, "approve").await;
    assert_problem(&after, StatusCode::CONFLICT, "operator-request-closed");
}

async fn an_assisted_recovery_is_delayed_and_cancellable(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let (a, second) = operators(&app).await;
    let mut carol = app.enrolled("carol").await;
    let path = "/v1/admin/users/carol/recovery";
    let proof = reason("ticket 9: identity proved by video call");
    // First round: carol still has her key and cancels it.
    let (_, asked) = app.post(&a, path, proof.clone()).await;
    let id = asked["id"].as_str().unwrap().to_owned();
    let (status, done) = decide(&app, &second, &id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let token = done["recovery"]["token"].clone();
    assert!(token.as_str().unwrap().starts_with("kw_rec_"), "{done}");
    let browser = app.sign_in(&mut carol).await;
    let (_, status_now) = app.get(&browser, "/v1/recovery").await;
    assert!(status_now["pending"].is_object(), "{status_now}");
    let (status, _) = app.post(&browser, "/v1/recovery/cancel", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    app.advance(Duration::from_secs(73 * 3600));
    let cancelled = complete(&app, &app.browser(), &carol, &token).await;
    assert_problem(&cancelled, StatusCode::NOT_FOUND, "not-found");

    // Second round: not before the delay; then it completes like any recovery.
    let (_, asked) = app.post(&a, path, proof).await;
    let id = asked["id"].as_str().unwrap().to_owned();
    let (_, done) = decide(&app, &second, &id, "approve").await;
    let token = done["recovery"]["token"].clone();
    let early = complete(&app, &app.browser(), &carol, &token).await;
    assert_problem(&early, StatusCode::CONFLICT, "recovery-not-due");
    // A second assisted recovery while one is under way is refused.
    let (_, asked) = app.post(&a, path, reason("duplicate")).await;
    let dup = decide(&app, &second, asked["id"].as_str().unwrap(), "approve").await;
    assert_problem(&dup, StatusCode::CONFLICT, "recovery-pending");
    let (_, shown) = app
        .get(
            &a,
            &format!("/v1/admin/requests/{}", asked["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        shown["status"], "pending",
        "refused approval changed nothing"
    );
    app.advance(Duration::from_secs(72 * 3600));
    let (status, completed) = complete(&app, &app.browser(), &carol, &token).await;
    assert_eq!(status, StatusCode::OK, "{completed}");
    assert_eq!(completed["keys_removed"], 1);
    let events = keyward_server::store::audit::for_user(&app.state.db, carol.user_id, 100)
        .await
        .unwrap();
    let started = events
        .iter()
        .rfind(|e| e.event == "recovery.started")
        .unwrap();
    assert!(
        started.detail.contains("approved by service:operator-b"),
        "{}",
        started.detail
    );
}

async fn the_global_unfreeze_waits_for_a_second_operator(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let (a, second) = operators(&app).await;
    let freeze = app
        .post(&a, "/v1/admin/withdrawals/freeze", reason("incident 3"))
        .await;
    assert_eq!(freeze.0, StatusCode::OK, "{}", freeze.1);
    let (status, asked) = app
        .post(
            &a,
            "/v1/admin/withdrawals/unfreeze",
            reason("incident 3 over"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    assert!(asked["username"].is_null());
    let (_, state) = app.get(&a, "/v1/admin/withdrawals").await;
    assert_eq!(state["frozen"], true, "still frozen until approved");
    let missing = app
        .post(&a, "/v1/admin/withdrawals/unfreeze", json!({}))
        .await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let id = asked["id"].as_str().unwrap();
    let (status, _) = decide(&app, &second, id, "approve").await;
    assert_eq!(status, StatusCode::OK);
    let (_, state) = app.get(&a, "/v1/admin/withdrawals").await;
    assert_eq!(state["frozen"], false);
}
