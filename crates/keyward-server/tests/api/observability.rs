//! Observability: Prometheus metrics by route template, domain counters,
//! request ids, and the security headers on every kind of response.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp};

backend_tests!(metrics_show_route_templates_and_domain_counters);

/// Review finding: `/metrics` was public on the user-facing origin. It now
/// needs a service key with the `metrics` scope there, or is scraped on its
/// own (private) listen address.
#[tokio::test]
async fn metrics_need_a_key_or_the_private_address() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let anonymous = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let other = app.service(&app.service_key(&["stepup:create"]).await);
    let wrong = other.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(
        metrics_text(&app)
            .await
            .contains("keyward_http_requests_total")
    );
    // The private listener serves /metrics without a key, and nothing else.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let private = format!("http://{}", listener.local_addr().unwrap());
    let router = keyward_server::metrics::private_router(app.state.db.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let scraped = reqwest::get(format!("{private}/metrics")).await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("keyward_http_requests_total")
    );
    let other_route = reqwest::get(format!("{private}/v1/session")).await.unwrap();
    assert_eq!(other_route.status(), StatusCode::NOT_FOUND);
}

/// Review finding: every distinct method a client sent (`curl -X AAAA1`)
/// added series to the metrics for good. Methods are a fixed set of labels.
#[tokio::test]
async fn unknown_methods_share_one_metrics_label() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let client = reqwest::Client::new();
    for method in ["AAAA1", "AAAA2", "BREW"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = client
            .request(method, app.url("/v1/keys"))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error(), "{}", resp.status());
    }
    let text = metrics_text(&app).await;
    assert!(!text.contains("AAAA1") && !text.contains("BREW"), "{text}");
    let other = samples(&text, "keyward_http_requests_total", &["method=\"OTHER\""]);
    let total: u64 = other
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, 3, "{other:?}");
}

async fn metrics_text(app: &TestApp) -> String {
    let scraper = app.service(&app.service_key(&["metrics"]).await);
    let resp = scraper.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    resp.text().await.unwrap()
}

/// The sample lines of `metric` whose labels include all of `labels`.
fn samples<'a>(text: &'a str, metric: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .collect()
}

async fn metrics_show_route_templates_and_domain_counters(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut user = app.enrolled("metrics1").await;
    let browser = app.sign_in(&mut user).await;
    let (status, keys) = app.get(&browser, "/v1/keys").await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let key_id = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .patch(
            &browser,
            &format!("/v1/keys/{key_id}"),
            json!({ "label": "Renamed" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app
        .post(
            &browser,
            "/v1/addresses",
            json!({ "network": "bitcoin", "address": DEST }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, _) = app.get(&app.browser(), "/v1/keys").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let text = metrics_text(&app).await;
    let requests = "keyward_http_requests_total";
    assert!(
        !samples(
            &text,
            requests,
            &[
                r#"route="/v1/keys/{id}""#,
                r#"method="PATCH""#,
                r#"status="204""#
            ]
        )
        .is_empty(),
        "no PATCH /v1/keys/{{id}} 204 in:\n{text}"
    );
    assert!(!samples(&text, requests, &[r#"route="/v1/keys""#, r#"status="200""#]).is_empty());
    assert!(!samples(&text, requests, &[r#"route="/v1/keys""#, r#"status="401""#]).is_empty());
    assert!(!text.contains(&key_id), "a raw id leaked into a label");
    assert!(
        !samples(
            &text,
            "keyward_http_request_duration_seconds_bucket",
            &[r#"route="/v1/signin/key/verify""#]
        )
        .is_empty(),
        "no latency histogram"
    );
    assert!(
        !samples(
            &text,
            "keyward_ceremonies_total",
            &[r#"kind="sign_in""#, r#"outcome="ok""#]
        )
        .is_empty()
    );
    assert!(
        !samples(
            &text,
            "keyward_ceremonies_total",
            &[r#"kind="registration""#, r#"outcome="ok""#]
        )
        .is_empty()
    );
    assert!(
        !samples(
            &text,
            "keyward_step_ups_total",
            &[r#"action="address.add""#, r#"outcome="pending""#]
        )
        .is_empty()
    );
    assert!(!samples(&text, "keyward_db_pool_connections", &[]).is_empty());
    assert!(!samples(&text, "keyward_db_pool_idle_connections", &[]).is_empty());
    assert!(
        !text.contains("metrics1"),
        "a username leaked into the metrics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_verifications_redeems_and_throttling_are_counted() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let token = app.service_key(&["apikeys:verify", "stepup:redeem"]).await;
    let service = app.service(&token);
    let body = json!({ "key": "kw_api_nonsense", "scope": "read", "client_ip": "192.0.2.7" });
    let (status, _) = app.post(&service, "/v1/api-keys/verify", body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let missing = "/v1/step-ups/00000000-0000-4000-8000-000000000000/redeem";
    let (status, _) = app.post(&service, missing, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = metrics_text(&app).await;
    assert!(
        !samples(
            &text,
            "keyward_api_key_verifications_total",
            &[r#"outcome="malformed""#]
        )
        .is_empty(),
        "{text}"
    );
    assert!(!samples(&text, "keyward_redeems_total", &[r#"outcome="not-found""#]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_a_request_id() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let resp = client.get(app.url("/healthz")).send().await.unwrap();
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!((16..=64).contains(&generated.len()), "{generated}");
    let again = client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(again.headers()["x-request-id"], generated.as_str());
    // A sane incoming id is adopted, on problems too.
    let resp = client
        .get(app.url("/v1/nope"))
        .header("x-request-id", "edge-7f3a.42_b")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["x-request-id"], "edge-7f3a.42_b");
    // An unreasonable one is replaced.
    for bad in ["x".repeat(65), "a b".into(), "id;drop".into()] {
        let resp = client
            .get(app.url("/healthz"))
            .header("x-request-id", bad.as_str())
            .send()
            .await
            .unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, bad);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    }
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

fn assert_base_headers(resp: &reqwest::Response, what: &str) {
    assert_eq!(header(resp, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(resp, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(resp, "x-frame-options"), "DENY", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_response() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let api_csp = "default-src 'none'; frame-ancestors 'none'";
    for (path, status) in [
        ("/healthz", StatusCode::OK),
        ("/v1/session", StatusCode::OK),
        ("/v1/keys", StatusCode::UNAUTHORIZED),
        ("/v1/nope", StatusCode::NOT_FOUND),
        ("/openapi.json", StatusCode::OK),
        ("/metrics", StatusCode::UNAUTHORIZED),
    ] {
        let resp = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), status, "{path}");
        assert_base_headers(&resp, path);
        assert_eq!(header(&resp, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&resp, "content-security-policy"), api_csp, "{path}");
        assert_eq!(
            header(&resp, "strict-transport-security"),
            "",
            "{path}: HSTS on http"
        );
    }
    // A wrong method and a rejected body are problems with the same headers.
    let resp = client.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_base_headers(&resp, "405");
    assert_eq!(header(&resp, "content-security-policy"), api_csp);
    // A web page keeps its own caching and policy.
    let resp = client.get(app.url("/")).send().await.unwrap();
    if header(&resp, "content-type").starts_with("text/html") {
        assert_base_headers(&resp, "/");
        assert_ne!(header(&resp, "cache-control"), "no-store");
        let csp = header(&resp, "content-security-policy");
        assert!(!csp.is_empty() && csp != api_csp, "{csp}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_origin_adds_strict_transport_security() {
    let app = TestApp::spawn_with(&Backend::Sqlite, |c, _| {
        c.origin = "https://localhost".parse().unwrap();
    })
    .await;
    let resp = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(
        header(&resp, "strict-transport-security"),
        "max-age=63072000; includeSubDomains"
    );
    let resp = reqwest::get(app.url("/v1/nope")).await.unwrap();
    assert_eq!(
        header(&resp, "strict-transport-security"),
        "max-age=63072000; includeSubDomains"
    );
}

/// The headers every API response must carry (`security_headers.rs`),
/// with HSTS exactly when the origin is https.
fn assert_api_headers(resp: &reqwest::Response, https: bool, what: &str) {
    assert_base_headers(resp, what);
    assert_eq!(header(resp, "cache-control"), "no-store", "{what}");
    assert_eq!(
        header(resp, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'",
        "{what}"
    );
    assert_eq!(
        !header(resp, "strict-transport-security").is_empty(),
        https,
        "{what}: HSTS exactly when https"
    );
}

/// A server whose configured origin is https (or http) on its own port.
async fn spawn_on(https: bool) -> TestApp {
    TestApp::spawn_with(&Backend::Sqlite, |c, _| {
        if https {
            let port = c.origin.port().unwrap();
            c.origin = format!("https://localhost:{port}").parse().unwrap();
        }
    })
    .await
}

/// 400, 401 (service), 403 (origin), 413, 415 and 422 problems carry the
/// security headers, on an http and an https origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problem_responses_carry_the_security_headers() {
    for https in [false, true] {
        let app = spawn_on(https).await;
        let browser = app.browser();
        let big = "x".repeat(app.state.config.max_body_bytes + 1);
        let cases: [(&str, &str, String, StatusCode, &str); 5] = [
            (
                "/v1/signup",
                "application/json",
                "{not json".into(),
                StatusCode::BAD_REQUEST,
                "malformed-body",
            ),
            (
                "/v1/signup",
                "text/plain",
                "{}".into(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
            ),
            (
                "/v1/signup",
                "application/json",
                r#"{"username":"x"}"#.into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
            ),
            (
                "/v1/signup",
                "application/json",
                big,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
            ),
            (
                "/v1/step-ups",
                "application/json",
                "{}".into(),
                StatusCode::UNAUTHORIZED,
                "invalid-service-key",
            ),
        ];
        for (path, ct, body, status, slug) in cases {
            let resp = browser
                .post(app.url(path))
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), status, "{path} {slug}");
            assert_eq!(resp.headers()["content-type"], "application/problem+json");
            assert_api_headers(&resp, https, slug);
            let got: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(got["type"], format!("https://keyward.dev/problems/{slug}"));
        }
        // A state-changing request from another origin.
        let resp = reqwest::Client::new()
            .post(app.url("/v1/signup"))
            .header("origin", "https://evil.example")
            .json(&json!({"username": "mallory", "password": "long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_api_headers(&resp, https, "origin-mismatch");
    }
}

/// Regression (schemathesis, issue 7): a request with a stale or unknown
/// session cookie, and a sign-out, get a removal `Set-Cookie` for
/// `kw_session`; tower-sessions built it without `HttpOnly`,
/// `SameSite=Strict` and `Secure`. Every `Set-Cookie` of the session cookie
/// now carries them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_removals_carry_the_cookie_attributes() {
    for https in [false, true] {
        let app = spawn_on(https).await;
        let name = if https {
            "__Host-kw_session"
        } else {
            "kw_session"
        };
        let removal = |resp: &reqwest::Response| {
            resp.headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .find(|v| v.starts_with(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} cookie: {:?}", resp.headers()))
        };
        let check = |cookie: &str, what: &str| {
            assert!(
                cookie.contains("Max-Age=0"),
                "{what}: not a removal: {cookie}"
            );
            assert!(cookie.contains("HttpOnly"), "{what}: {cookie}");
            assert!(cookie.contains("SameSite=Strict"), "{what}: {cookie}");
            assert_eq!(cookie.contains("Secure"), https, "{what}: {cookie}");
        };
        let resp = reqwest::Client::new()
            .get(app.url("/v1/keys"))
            .header("cookie", format!("{name}=c3RhbGUgc2Vzc2lvbiBpZA"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        check(&removal(&resp), "stale cookie");
        if https {
            // The test client keeps Secure cookies off plain-http loopback,
            // so a signed-in session is tried on the http origin only.
            continue;
        }
        let mut user = app.enrolled("remover").await;
        let browser = app.sign_in(&mut user).await;
        let resp = browser
            .post(app.url("/v1/signout"))
            .header("origin", &app.origin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        check(&removal(&resp), "sign-out");
    }
}
