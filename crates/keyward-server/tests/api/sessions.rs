//! Sessions: listing and ending them, absolute timeout, and the Origin check.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    session_ids_are_stored_hashed,
    list_and_end_another_session,
    ending_the_current_session_signs_out,
    absolute_timeout_ends_the_session,
    idle_timeout_ends_the_session,
    https_origin_marks_the_cookie_secure,
    state_changing_requests_need_our_origin,
    client_address_is_believed_only_from_trusted_proxies,
);

async fn list_and_end_another_session(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("users1").await;
    let phone = app.sign_in(&mut u).await;
    let (status, list) = app.get(&u.browser, "/v1/sessions").await;
    assert_eq!(status, StatusCode::OK);
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .delete(&u.browser, &format!("/v1/sessions/{other}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, stage) = app.get(&phone, "/v1/session").await;
    assert_eq!(
        stage["stage"], "anonymous",
        "an ended session must not report signed_in"
    );
    assert_problem(
        &app.get(&phone, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let again = app
        .delete(&u.browser, &format!("/v1/sessions/{other}"))
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not-found");
    // Another user's session id is not found either.
    let stranger = app.enrolled("s1b").await;
    let (_, theirs) = app.get(&stranger.browser, "/v1/sessions").await;
    let theirs = theirs["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert_problem(
        &app.delete(&u.browser, &format!("/v1/sessions/{theirs}"))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    assert_eq!(
        app.get(&stranger.browser, "/v1/keys").await.0,
        StatusCode::OK
    );
}

async fn ending_the_current_session_signs_out(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let u = app.enrolled("users2").await;
    let (_, list) = app.get(&u.browser, "/v1/sessions").await;
    let id = list["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&u.browser, &format!("/v1/sessions/{id}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.get(&u.browser, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

async fn absolute_timeout_ends_the_session(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let u = app.enrolled("users3").await;
    app.advance(Duration::from_secs(12 * 3600 + 1));
    assert_problem(
        &app.get(&u.browser, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

async fn idle_timeout_ends_the_session(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let u = app.enrolled("idler").await;
    app.advance(Duration::from_secs(14 * 60));
    assert_eq!(
        app.get(&u.browser, "/v1/keys").await.0,
        StatusCode::OK,
        "activity within 15 minutes keeps it alive"
    );
    app.advance(Duration::from_secs(15 * 60 + 1));
    assert_problem(
        &app.get(&u.browser, "/v1/keys").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let (_, stage) = app.get(&u.browser, "/v1/session").await;
    assert_eq!(stage["stage"], "anonymous");
}

async fn https_origin_marks_the_cookie_secure(b: Backend) {
    let app = TestApp::spawn_with(&b, |c: &mut keyward_server::Config, _| {
        let port = c.origin.port().unwrap();
        c.origin = format!("https://localhost:{port}").parse().unwrap();
    })
    .await;
    let resp = reqwest::Client::new()
        .post(app.url("/v1/signup"))
        .header("origin", app.origin.replace("http:", "https:"))
        .json(&json!({ "username": "secure1", "password": "long enough password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Over https the name carries the `__Host-` prefix: the browser then
    // takes it only Secure, host-only and for Path=/ (a sibling sub-domain
    // cannot plant one).
    assert!(cookie.starts_with("__Host-kw_session="), "{cookie}");
    assert!(
        cookie.contains("Path=/") && !cookie.to_ascii_lowercase().contains("domain="),
        "{cookie}"
    );
}

/// Review finding: session ids were stored as issued, so a copy of the
/// sessions table was a set of live cookies. They are stored hashed.
async fn session_ids_are_stored_hashed(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let resp = app
        .browser()
        .post(app.url("/v1/signup"))
        .json(&json!({ "username": "hashed1", "password": "long enough password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let id = cookie
        .trim_start_matches("kw_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // tower-sessions-sqlx-store's table: `tower_sessions` on SQLite,
    // `session` in Keyward's schema on PostgreSQL.
    let sql = match b {
        Backend::Sqlite => "SELECT id FROM tower_sessions",
        Backend::Postgres(_) => "SELECT id FROM session",
    };
    let stored: Vec<String> = crate::on_db!(&app.state.db, c => sqlx::query_scalar(sql)
        .fetch_all(c).await.unwrap());
    assert!(!stored.is_empty(), "the session is stored");
    assert!(
        !stored.contains(&id),
        "stored as issued: {id} in {stored:?}"
    );
    // The cookie still works: the session is found through its hash.
    let (status, session) = app
        .get(
            &reqwest::Client::builder()
                .default_headers({
                    let mut h = reqwest::header::HeaderMap::new();
                    h.insert("cookie", format!("kw_session={id}").parse().unwrap());
                    h
                })
                .build()
                .unwrap(),
            "/v1/session",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["stage"], "enrolling", "{session}");
}

async fn state_changing_requests_need_our_origin(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let u = app.enrolled("users4").await;
    let (_, keys) = app.get(&u.browser, "/v1/keys").await;
    let id = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    let foreign = u
        .browser
        .patch(app.url(&format!("/v1/keys/{id}")))
        .header("origin", "https://evil.example")
        .json(&json!({ "label": "pwned" }))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = foreign.json().await.unwrap();
    assert!(body["type"].as_str().unwrap().ends_with("/origin-mismatch"));
    // An `Authorization` header beside the session cookie does not make it
    // a service request (before, it switched the Origin check off).
    let disguised = u
        .browser
        .patch(app.url(&format!("/v1/keys/{id}")))
        .header("origin", "https://evil.example")
        .header("authorization", "Bearer anything")
        .json(&json!({ "label": "pwned" }))
        .send()
        .await
        .unwrap();
    assert_eq!(disguised.status(), StatusCode::FORBIDDEN);
    // No Origin at all is refused too.
    let bare = reqwest::Client::new();
    let resp = bare
        .post(app.url("/v1/signup"))
        .json(&json!({ "username": "s4x", "password": "long enough password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        keyward_server::store::users::by_name(&app.state.db, "s4x")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.snapshot(u.user_id).await.keys[0].2, "Test key");
}

/// The session list shows the address Keyward recorded at sign-in.
async fn recorded_ip(app: &TestApp, forwarded: &str) -> String {
    let mut u = app.enrolled(&format!("fwd{}", forwarded.len())).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.origin.parse().unwrap());
    headers.insert("x-forwarded-for", forwarded.parse().unwrap());
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap();
    let (status, _) = app
        .post(
            &browser,
            "/v1/signin/password",
            json!({ "username": u.username, "password": u.password }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .key_step(&browser, &mut u.key, &keyward_testkit::Forge::default())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get(&browser, "/v1/sessions").await;
    let current = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    current["ip"].as_str().unwrap().to_owned()
}

async fn client_address_is_believed_only_from_trusted_proxies(b: Backend) {
    // Not behind a trusted proxy: the header is the client's own claim, ignored.
    let direct = TestApp::spawn(&b).await;
    assert_eq!(recorded_ip(&direct, "203.0.113.5").await, "127.0.0.1");
    // Behind a trusted proxy (the test client is it): the right-most address
    // that is not a proxy is the client; a forged left-hand entry is ignored.
    let proxied = TestApp::spawn_with(&b, |c: &mut keyward_server::Config, _| {
        c.trusted_proxies = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
    })
    .await;
    assert_eq!(
        recorded_ip(&proxied, "198.51.100.1, 203.0.113.5, 10.1.2.3").await,
        "203.0.113.5"
    );
    // A hop our proxy passed that is not an address fails closed (before,
    // it was skipped and the forgeable entry to its left was believed).
    for forwarded in [
        "198.51.100.1, garbage, 10.1.2.3",
        "unknown",
        "203.0.113.5:443",
    ] {
        let resp = proxied
            .browser()
            .post(proxied.url("/v1/signin/password"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "username": "nobody", "password": "whatever whatever" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{forwarded}"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["field"], "X-Forwarded-For", "{body}");
    }
    // Unparseable hops left of the client are the client's own and ignored.
    assert_eq!(
        recorded_ip(&proxied, "garbage, 203.0.113.9, 10.1.2.3").await,
        "203.0.113.9"
    );
}
