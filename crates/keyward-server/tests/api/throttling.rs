//! Brute-force throttling: backoff with Retry-After, lock after the limit,
//! counters kept in the database.

use keyward_server::config::Config;
use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem, assert_refused};

backend_tests!(
    password_failures_back_off_then_lock,
    key_failures_count_too,
    one_ip_guessing_many_accounts_is_throttled
);

fn strict(c: &mut Config, _: &std::path::Path) {
    c.throttle.free_failures = 2;
    c.throttle.lock_after = 4;
    c.throttle.ip_free_failures = 1000;
}

async fn password_failures_back_off_then_lock(b: Backend) {
    let app = TestApp::spawn_with(&b, strict).await;
    let u = app.enrolled("th1").await;
    let browser = app.browser();
    let wrong = json!({ "username": "th1", "password": "definitely wrong!" });
    for _ in 0..2 {
        assert_problem(
            &app.post(&browser, "/v1/signin/password", wrong.clone())
                .await,
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
        );
    }
    // Third failure starts the backoff.
    assert_problem(
        &app.post(&browser, "/v1/signin/password", wrong.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid-credentials",
    );
    let resp = browser
        .post(app.url("/v1/signin/password"))
        .json(&json!({ "username": "th1", "password": u.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    // Wait out the backoff; the fourth failure locks the account.
    app.advance(std::time::Duration::from_secs(retry));
    assert_problem(
        &app.post(&browser, "/v1/signin/password", wrong.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid-credentials",
    );
    app.advance(std::time::Duration::from_secs(3600));
    let right = json!({ "username": "th1", "password": u.password });
    assert_problem(
        &app.post(&browser, "/v1/signin/password", right).await,
        StatusCode::TOO_MANY_REQUESTS,
        "account-locked",
    );
    let events = keyward_server::store::audit::for_user(&app.state.db, u.user_id, 50)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.event == "account.locked"),
        "{events:?}"
    );
}

async fn key_failures_count_too(b: Backend) {
    let app = TestApp::spawn_with(&b, strict).await;
    let mut u = app.enrolled("th2").await;
    let browser = app.password_step(&u).await;
    let bad = Forge {
        tamper_signature: true,
        ..Forge::default()
    };
    for _ in 0..3 {
        assert_refused(
            &app.key_step(&browser, &mut u.key, &bad).await,
            "bad_signature",
        );
    }
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let credential = u.key.assert(&options, &app.origin);
    let got = app
        .post(
            &browser,
            "/v1/signin/key/verify",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
}

async fn one_ip_guessing_many_accounts_is_throttled(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut Config, _| {
        c.throttle.ip_free_failures = 3;
    })
    .await;
    let u = app.enrolled("victim9").await;
    let browser = app.browser();
    // Spraying one password over many (unknown) accounts from one address.
    for i in 0..4 {
        let got = app
            .post(
                &browser,
                "/v1/signin/password",
                json!({ "username": format!("spray{i}"), "password": "Summer2026!!!!" }),
            )
            .await;
        assert_problem(&got, StatusCode::UNAUTHORIZED, "invalid-credentials");
    }
    let got = app
        .post(
            &browser,
            "/v1/signin/password",
            json!({ "username": "victim9", "password": u.password }),
        )
        .await;
    assert_problem(&got, StatusCode::TOO_MANY_REQUESTS, "throttled");
}
