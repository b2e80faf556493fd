//! Account recovery (issue 18): recovery codes made with a fresh key touch;
//! a recovery the password and a code only start; cancelled by any of the
//! account's keys; completed after the delay with its token, removing every
//! key, session and API key and holding withdrawals. Test clock throughout.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, assert_problem};

backend_tests!(
    codes_need_a_fresh_key_and_replace_the_last_set,
    a_recovery_needs_the_password_and_an_unused_code,
    a_key_cancels_a_recovery,
    a_due_recovery_removes_every_key_session_and_api_key,
);

/// Makes a fresh set of codes (a fresh key touch first); returns them.
pub async fn codes(app: &TestApp, user: &mut User) -> Vec<String> {
    app.reauth(user).await;
    let (status, body) = app
        .post(&user.browser, "/v1/recovery-codes", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

/// Starts a recovery from a new browser; (status, body).
pub async fn start(app: &TestApp, user: &User, code: &str) -> (StatusCode, Value) {
    let body = json!({ "username": user.username, "password": user.password, "code": code });
    app.post(&app.browser(), "/v1/recovery/start", body).await
}

/// Completes a recovery in `browser`; (status, body).
pub async fn complete(
    app: &TestApp,
    browser: &reqwest::Client,
    user: &User,
    token: &Value,
) -> (StatusCode, Value) {
    let body = json!({ "token": token, "password": user.password });
    app.post(browser, "/v1/recovery/complete", body).await
}

async fn events(app: &TestApp, user: &User) -> Vec<String> {
    keyward_server::store::audit::for_user(&app.state.db, user.user_id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

async fn codes_need_a_fresh_key_and_replace_the_last_set(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    app.advance(Duration::from_secs(301));
    let stale = app
        .post(&alice.browser, "/v1/recovery-codes", json!({}))
        .await;
    assert_problem(&stale, StatusCode::FORBIDDEN, "reauth-required");
    let first = codes(&app, &mut alice).await;
    assert_eq!(first.len(), 10);
    let distinct: std::collections::BTreeSet<_> = first.iter().collect();
    assert_eq!(distinct.len(), 10);
    for code in &first {
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(groups.iter().all(|g| g.len() == 5), "{code}");
    }
    let (_, status) = app.get(&alice.browser, "/v1/recovery").await;
    assert_eq!(status["codes_remaining"], 10);
    assert_eq!(status["pending"], Value::Null);
    assert_eq!(status["delay_hours"], 72);
    // A new set: the old codes start nothing.
    let second = codes(&app, &mut alice).await;
    let refused = start(&app, &alice, &first[0]).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "invalid-credentials");
    assert_eq!(
        start(&app, &alice, &second[0]).await.0,
        StatusCode::ACCEPTED
    );
    // Codes are stored hashed: the plain code is nowhere in the table.
    let stored: Vec<Vec<u8>> = crate::on_db!(&app.state.db, c => sqlx::query_scalar(
        "SELECT code_hash FROM recovery_codes").fetch_all(c).await.unwrap());
    let hashed = |code: &str| {
        use sha2::Digest as _;
        sha2::Sha256::digest(code.replace('-', "").as_bytes()).to_vec()
    };
    assert_eq!(stored.len(), 10, "only the current set is kept");
    assert!(stored.contains(&hashed(&second[1])));
    assert!(!stored.iter().any(|h| h == second[1].as_bytes()));
    assert!(
        events(&app, &alice)
            .await
            .contains(&"recovery_codes.created".to_owned())
    );
}

async fn a_recovery_needs_the_password_and_an_unused_code(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let codes = codes(&app, &mut alice).await;
    let wrong_password =
        json!({ "username": "alice", "password": "not-the-password-at-all", "code": codes[0] });
    let got = app
        .post(&app.browser(), "/v1/recovery/start", wrong_password)
        .await;
    assert_problem(&got, StatusCode::UNAUTHORIZED, "invalid-credentials");
    let got = start(&app, &alice, "AAAAA-AAAAA-AAAAA-AAAAA").await;
    assert_problem(&got, StatusCode::UNAUTHORIZED, "invalid-credentials");
    assert!(
        events(&app, &alice)
            .await
            .contains(&"recovery.refused".to_owned())
    );
    // Nothing was spent or started by the refusals.
    let (_, status) = app.get(&alice.browser, "/v1/recovery").await;
    assert_eq!(status["codes_remaining"], 10);
    assert_eq!(status["pending"], Value::Null);

    let (status, started) = start(&app, &alice, &codes[0].to_lowercase()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert!(started["token"].as_str().unwrap().starts_with("kw_rec_"));
    let (_, status) = app.get(&alice.browser, "/v1/recovery").await;
    assert_eq!(status["codes_remaining"], 9);
    assert_eq!(status["pending"]["completes_at"], started["completes_at"]);
    // One at a time; the spent code is spent.
    let again = start(&app, &alice, &codes[1]).await;
    assert_problem(&again, StatusCode::CONFLICT, "recovery-pending");
    let (_, status) = app.get(&alice.browser, "/v1/recovery").await;
    assert_eq!(
        status["codes_remaining"], 9,
        "a refused start spends no code"
    );
    // Not before the delay; the account is untouched meanwhile.
    let early = complete(&app, &app.browser(), &alice, &started["token"]).await;
    assert_problem(&early, StatusCode::CONFLICT, "recovery-not-due");
    assert_eq!(app.snapshot(alice.user_id).await.keys.len(), 1);
    // A made-up token completes nothing.
    let forged = json!(format!("kw_rec_{}", "A".repeat(48)));
    let got = complete(&app, &app.browser(), &alice, &forged).await;
    assert_problem(&got, StatusCode::UNAUTHORIZED, "invalid-credentials");
}

async fn a_key_cancels_a_recovery(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let codes = codes(&app, &mut alice).await;
    let (_, started) = start(&app, &alice, &codes[0]).await;
    // Alice sees it, and signs in with her key to cancel it.
    let browser = app.sign_in(&mut alice).await;
    let (status, body) = app.post(&browser, "/v1/recovery/cancel", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = app.post(&browser, "/v1/recovery/cancel", json!({})).await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not-found");
    app.advance(Duration::from_secs(73 * 3600));
    let late = complete(&app, &app.browser(), &alice, &started["token"]).await;
    assert_problem(&late, StatusCode::NOT_FOUND, "not-found");
    assert_eq!(app.snapshot(alice.user_id).await.keys.len(), 1);
    assert!(
        events(&app, &alice)
            .await
            .contains(&"recovery.cancelled".to_owned())
    );
    // A stranger cannot cancel (no key-signed-in session).
    let stranger = app
        .post(&app.browser(), "/v1/recovery/cancel", json!({}))
        .await;
    assert_eq!(stranger.0, StatusCode::UNAUTHORIZED, "{}", stranger.1);
}

async fn a_due_recovery_removes_every_key_session_and_api_key(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let codes = codes(&app, &mut alice).await;
    let (_, started) = start(&app, &alice, &codes[0]).await;
    app.advance(Duration::from_secs(72 * 3600));
    let browser = app.browser();
    let (status, done) = complete(&app, &browser, &alice, &started["token"]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["keys_removed"], 1);
    assert!(done["withdrawals_held_until"].is_string());
    assert!(app.snapshot(alice.user_id).await.keys.is_empty());
    // The old session is over; this one may only enrol a first key.
    assert_eq!(
        app.get(&alice.browser, "/v1/keys").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, session) = app.get(&browser, "/v1/session").await;
    assert_eq!(session["stage"], "enrolling", "{session}");
    // The token is spent.
    let again = complete(&app, &app.browser(), &alice, &started["token"]).await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not-found");
    // A new key: the account works again, withdrawals held.
    alice.browser = browser;
    alice.key = keyward_testkit::SoftKey::new();
    let (status, body) = app
        .enrol(&mut alice, keyward_testkit::Forge::default())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, policy) = app.get(&alice.browser, "/v1/withdrawal-status").await;
    assert_eq!(policy["hold_reason"], "recovered", "{policy}");
    assert!(
        events(&app, &alice)
            .await
            .contains(&"recovery.completed".to_owned())
    );
}
