//! Bad input never yields a 500: malformed JSON, wrong types, unknown fields,
//! wrong content type, oversize bodies, unknown routes and methods all get a
//! problem+json 4xx, and nothing is written.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    malformed_and_mistyped_bodies,
    wrong_content_type_and_oversize,
    unknown_routes_and_methods,
    garbage_webauthn_responses_are_refused_cleanly,
);

/// Review finding: a refusal sent before the body was read left the body's
/// bytes on the socket, and the next request on that connection failed. A
/// refusal of a request with a body now says `Connection: close` (and the
/// server closes), so a client never sends into a confused connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_before_the_body_is_read_closes_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let body = r#"{"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
    let refusals = [
        // No session: refused before the body extractor runs.
        ("/v1/keys/registration/options", "application/json"),
        // Wrong content type: refused without reading the body.
        ("/v1/signup", "text/plain"),
    ];
    for (path, content_type) in refusals {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n",
            app.origin,
            body.len()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            socket.read_to_end(&mut answer),
        )
        .await;
        assert!(read.is_ok(), "{path}: the server kept the connection open");
        let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 4"), "{path}: {answer}");
        assert!(answer.contains("connection: close"), "{path}: {answer}");
        // Whatever came after, it was not a misread of the body as a request.
        assert!(!answer.contains("http/1.1 400"), "{path}: {answer}");
    }
}

async fn raw(
    app: &TestApp,
    body: &'static str,
    content_type: &str,
) -> (StatusCode, serde_json::Value) {
    let resp = app
        .browser()
        .post(app.url("/v1/signup"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    (status, resp.json().await.unwrap())
}

async fn malformed_and_mistyped_bodies(b: Backend) {
    let app = TestApp::spawn(&b).await;
    assert_problem(
        &raw(&app, "{not json", "application/json").await,
        StatusCode::BAD_REQUEST,
        "malformed-body",
    );
    assert_problem(
        &raw(&app, "", "application/json").await,
        StatusCode::BAD_REQUEST,
        "malformed-body",
    );
    let mistyped = raw(
        &app,
        r#"{"username": 42, "password": "long enough password"}"#,
        "application/json",
    )
    .await;
    assert_problem(&mistyped, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(mistyped.1["field"], "username");
    let missing = raw(&app, r#"{"username": "zed"}"#, "application/json").await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let extra = raw(
        &app,
        r#"{"username": "zed", "password": "long enough password", "admin": true}"#,
        "application/json",
    )
    .await;
    assert_problem(&extra, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    // One JSON value, then anything but whitespace, is malformed (was
    // accepted on every endpoint, the tail ignored).
    for tail in ["garbage", "{}", r#"{"admin":true}"#, "]"] {
        let body: &'static str = Box::leak(
            format!(r#"{{"username":"zed","password":"long enough password"}}{tail}"#)
                .into_boxed_str(),
        );
        let trailing = raw(&app, body, "application/json").await;
        assert_problem(&trailing, StatusCode::BAD_REQUEST, "malformed-body");
    }
    assert!(
        keyward_server::store::users::by_name(&app.state.db, "zed")
            .await
            .unwrap()
            .is_none()
    );
}

async fn wrong_content_type_and_oversize(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let text = raw(
        &app,
        r#"{"username":"zed","password":"long enough password"}"#,
        "text/plain",
    )
    .await;
    assert_problem(
        &text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    let huge = "x".repeat(200 * 1024);
    let resp = app
        .browser()
        .post(app.url("/v1/signup"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"username":"zed","password":"{huge}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert!(
        keyward_server::store::users::by_name(&app.state.db, "zed")
            .await
            .unwrap()
            .is_none()
    );
}

async fn unknown_routes_and_methods(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let browser = app.browser();
    assert_problem(
        &app.get(&browser, "/v1/nope").await,
        StatusCode::NOT_FOUND,
        "route-not-found",
    );
    assert_problem(
        &app.get(&browser, "/v1/signup").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    );
    assert_eq!(app.get(&browser, "/healthz").await.0, StatusCode::OK);
    let (status, ready) = app.get(&browser, "/readyz").await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );

    // A person who follows a bad link gets a page, not JSON; an app page
    // with a trailing slash is where they meant to go; the API stays JSON.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |path: &str| {
        plain
            .get(app.url(path))
            .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
    };
    let missing = page("/no-such-page").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let csp = missing.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        missing.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = missing.text().await.unwrap();
    assert!(
        body.contains("Page not found") && body.contains("href=\"/\""),
        "{body}"
    );
    let slash = page("/keys/").await.unwrap();
    assert_eq!(slash.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(slash.headers()["location"], "/keys");
    let api = page("/v1/nope").await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("problem+json")
    );
}

async fn garbage_webauthn_responses_are_refused_cleanly(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut u = app.enrolled("userg1").await;
    let before = app.snapshot(u.user_id).await;
    let browser = app.password_step(&u).await;
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let garbage = [
        json!({ "ceremony": options["ceremony"], "credential": "nope" }),
        json!({ "ceremony": options["ceremony"], "credential": { "id": "x", "rawId": "!!!", "type": "public-key" } }),
        json!({ "ceremony": "not-a-uuid", "credential": {} }),
        json!({ "ceremony": uuid::Uuid::new_v4(), "credential": u.key.assert(&options, &app.origin) }),
    ];
    for body in garbage {
        let (status, problem) = app
            .post(&browser, "/v1/signin/key/verify", body.clone())
            .await;
        assert!(status.is_client_error(), "{body} -> {status} {problem}");
    }
    // A structurally valid response whose authenticator data is cut short.
    let (_, options) = app
        .post(&browser, "/v1/signin/key/options", json!({}))
        .await;
    let mut credential = u.key.assert(&options, &app.origin);
    credential["response"]["authenticatorData"] = json!("AAAA");
    let got = app
        .post(
            &browser,
            "/v1/signin/key/verify",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await;
    assert!(got.0.is_client_error(), "{got:?}");
    assert_eq!(app.snapshot(u.user_id).await, before);
}

#[tokio::test]
async fn misconfiguration_fails_at_start_with_a_hint() {
    let mut config = keyward_server::Config::default();
    config.origin = "https://exchange.example".parse().unwrap();
    config.rp_id = "localhost".into();
    config.data_dir = tempfile::tempdir().unwrap().path().to_path_buf();
    let err =
        keyward_server::App::build(config, keyward_server::Clock::default(), Default::default())
            .await
            .err()
            .expect("a mismatched origin must not start");
    assert!(err.to_string().contains("rp_id"), "{err}");
}
