//! Sign-up and sign-in, the happy paths and the account-level refusals.

use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    sign_up_enrol_sign_out_sign_in,
    username_is_normalised_and_duplicates_conflict,
    weak_password_is_refused_and_nothing_stored,
    common_passwords_are_refused_in_words_and_nothing_stored,
    wrong_password_and_unknown_user_look_the_same,
    account_without_key_can_only_enrol,
    partial_session_cannot_use_the_account,
    partial_session_expires,
    session_id_rotates_at_each_step,
    a_half_finished_sign_in_can_be_ended,
);

async fn sign_up_enrol_sign_out_sign_in(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut alice = app.enrolled("alice").await;
    let (status, me) = app.get(&alice.browser, "/v1/session").await;
    assert_eq!(
        (status, me["stage"].as_str()),
        (StatusCode::OK, Some("signed_in"))
    );
    assert_eq!(me["username"], "alice");

    let (status, _) = app.post(&alice.browser, "/v1/signout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_problem(
        &app.get(&alice.browser, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    let browser = app.password_step(&alice).await;
    let (_, stage) = app.get(&browser, "/v1/session").await;
    assert_eq!(stage["stage"], "password");
    let (status, body) = app
        .key_step(&browser, &mut alice.key, &Forge::default())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, keys) = app.get(&browser, "/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert!(keys["keys"][0]["last_used_at"].is_string());
}

async fn username_is_normalised_and_duplicates_conflict(b: Backend) {
    let app = TestApp::spawn(&b).await;
    app.signed_up("bob").await;
    let browser = app.browser();
    let dup = app
        .post(
            &browser,
            "/v1/signup",
            json!({ "username": "  BOB ", "password": "another long password" }),
        )
        .await;
    assert_problem(&dup, StatusCode::CONFLICT, "username-taken");
    let bad = app
        .post(
            &browser,
            "/v1/signup",
            json!({ "username": "b o b", "password": "another long password" }),
        )
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(bad.1["field"], "username");
}

async fn weak_password_is_refused_and_nothing_stored(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let browser = app.browser();
    let got = app
        .post(
            &browser,
            "/v1/signup",
            json!({ "username": "carol", "password": "short" }),
        )
        .await;
    assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(got.1["field"], "password");
    assert!(
        keyward_server::store::users::by_name(&app.state.db, "carol")
            .await
            .unwrap()
            .is_none()
    );
}

/// Common passwords, keyboard runs and the username with digits are refused
/// (422, in words the sign-up page shows as they are) and create nothing; a
/// passphrase of ordinary words is accepted.
async fn common_passwords_are_refused_in_words_and_nothing_stored(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let browser = app.browser();
    for password in ["password1234", "qwertyuiop123", "erin12345678"] {
        let body = json!({ "username": "erin", "password": password });
        let got = app.post(&browser, "/v1/signup", body).await;
        assert_problem(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation");
        assert_eq!(got.1["field"], "password", "{password}");
        assert_eq!(
            got.1["detail"],
            "password: This password is too common or easy to guess. \
             Try a longer phrase of unrelated words.",
            "{password}"
        );
        let stored = keyward_server::store::users::by_name(&app.state.db, "erin").await;
        assert!(stored.unwrap().is_none(), "{password}");
    }
    let body = json!({ "username": "erin", "password": "velvet lantern orbit cabbage" });
    let (status, body) = app.post(&browser, "/v1/signup", body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn wrong_password_and_unknown_user_look_the_same(b: Backend) {
    let app = TestApp::spawn(&b).await;
    app.enrolled("dave").await;
    let browser = app.browser();
    let wrong = app
        .post(
            &browser,
            "/v1/signin/password",
            json!({ "username": "dave", "password": "not the password!" }),
        )
        .await;
    let unknown = app
        .post(
            &browser,
            "/v1/signin/password",
            json!({ "username": "nobody", "password": "not the password!" }),
        )
        .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid-credentials");
    assert_problem(&unknown, StatusCode::UNAUTHORIZED, "invalid-credentials");
    assert_eq!(
        wrong.1, unknown.1,
        "responses must not reveal whether the account exists"
    );
}

async fn account_without_key_can_only_enrol(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let eve = app.signed_up("eve").await;
    assert_problem(
        &app.get(&eve.browser, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_problem(
        &app.get(&eve.browser, "/v1/sessions").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // Signing in again with the password leads back to enrolment only.
    let browser = app.browser();
    let (status, body) = app
        .post(
            &browser,
            "/v1/signin/password",
            json!({ "username": "eve", "password": eve.password }),
        )
        .await;
    assert_eq!(
        (status, body["next"].as_str()),
        (StatusCode::OK, Some("enrol_key"))
    );
    assert_problem(
        &app.post(&browser, "/v1/signin/key/options", json!({}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let (status, _) = app
        .post(&browser, "/v1/keys/registration/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn partial_session_cannot_use_the_account(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let frank = app.enrolled("frank").await;
    let browser = app.password_step(&frank).await;
    for path in ["/v1/keys", "/v1/sessions", "/v1/audit"] {
        assert_problem(
            &app.get(&browser, path).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    }
    let enrol = app
        .post(&browser, "/v1/keys/registration/options", json!({}))
        .await;
    assert_problem(&enrol, StatusCode::UNAUTHORIZED, "unauthenticated");
}

async fn partial_session_expires(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut grace = app.enrolled("grace").await;
    let browser = app.password_step(&grace).await;
    app.advance(std::time::Duration::from_secs(301));
    // The stage says the sign-in expired (it said `password` before), and
    // the key step answers 410 ceremony-expired (it said 401 "sign in first").
    let (_, session) = app.get(&browser, "/v1/session").await;
    assert_eq!(session["stage"], "expired", "{session}");
    assert!(session["user_id"].is_null(), "{session}");
    let got = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    assert_problem(&got, StatusCode::GONE, "ceremony-expired");
    // Starting over works.
    let browser = app.password_step(&grace).await;
    let got = app
        .key_step(&browser, &mut grace.key, &keyward_testkit::Forge::default())
        .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
}

async fn session_id_rotates_at_each_step(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let user = app.enrolled("heidi").await;
    let raw = reqwest::Client::builder().build().unwrap();
    let cookie = |resp: &reqwest::Response| {
        resp.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("kw_session="))
            .map(|v| v.split(';').next().unwrap().to_owned())
    };
    let resp = raw
        .post(app.url("/v1/signin/password"))
        .header("origin", &app.origin)
        .json(&json!({ "username": user.username, "password": user.password }))
        .send()
        .await
        .unwrap();
    let set = resp
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        !set.contains("Secure"),
        "plain-http origin must not set Secure: {set}"
    );
    let first = cookie(&resp).unwrap();
    let session_id = first.trim_start_matches("kw_session=");
    assert!(
        session_id.len() >= 22,
        "session id must carry at least 128 bits: {session_id}"
    );
    let mut key = user.key.clone();
    let resp = raw
        .post(app.url("/v1/signin/key/options"))
        .header("origin", &app.origin)
        .header("cookie", &first)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let options: serde_json::Value = resp.json().await.unwrap();
    let credential = key.assert(&options, &app.origin);
    let resp = raw
        .post(app.url("/v1/signin/key/verify"))
        .header("origin", &app.origin)
        .header("cookie", &first)
        .json(&json!({ "ceremony": options["ceremony"], "credential": credential }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let second = cookie(&resp).expect("a new session id after the key step");
    assert_ne!(first, second);
    // The pre-sign-in id is worthless now.
    let old = raw
        .get(app.url("/v1/keys"))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = raw
        .get(app.url("/v1/keys"))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::OK);
}

/// "Sign in as someone else": signing out ends a sign-in left after the
/// password, so a reload does not come back to that account's key step; a
/// session that is nothing yet is still told it is not signed in.
async fn a_half_finished_sign_in_can_be_ended(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let bob = app.enrolled("bob").await;
    let browser = app.password_step(&bob).await;
    let (_, before) = app.get(&browser, "/v1/session").await;
    assert_eq!(before["stage"], "password", "{before}");
    let (status, _) = app.post(&browser, "/v1/signout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = app.get(&browser, "/v1/session").await;
    assert_eq!(after["stage"], "anonymous", "{after}");
    let got = app.post(&app.browser(), "/v1/signout", json!({})).await;
    assert_problem(&got, StatusCode::UNAUTHORIZED, "unauthenticated");
}
