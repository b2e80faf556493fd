//! The OpenAPI document at `/openapi.json` describes every API route: each
//! documented operation exists, every other method on a documented path is a
//! 405 problem, unknown paths are 404 problems, no route is registered
//! outside the documented routers, and every problem response names real
//! problem types with their real status.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The served document (also for other modules' checks of their schemas).
pub async fn document(app: &TestApp) -> Value {
    let resp = reqwest::get(app.url("/openapi.json")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    resp.json().await.unwrap()
}

/// (method, path) of every documented operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

/// slug → status, from the `Problem` schema's table.
fn catalogue(doc: &Value) -> BTreeMap<String, u16> {
    let text = doc["components"]["schemas"]["Problem"]["description"]
        .as_str()
        .unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix("| `https://keyward.dev/problems/"))
        .map(|rest| {
            let (slug, rest) = rest.split_once('`').unwrap();
            let status = rest.trim_start_matches(" |").split('|').next().unwrap();
            (slug.to_owned(), status.trim().parse().unwrap())
        })
        .collect()
}

/// A concrete URL for a templated path.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000-0000-4000-8000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    method: &str,
    path: &str,
) -> (StatusCode, String, Value) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let resp = client
        .request(method, app.url(&concrete(path)))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, ct, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_openapi_3_1_with_security_schemes_and_problem_catalogue() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["type"], "apiKey");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "kw_session");
    assert_eq!(schemes["service"]["type"], "http");
    assert_eq!(schemes["service"]["scheme"], "bearer");
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for field in ["type", "title", "status", "detail", "field", "reason"] {
        assert!(problem.get(field).is_some(), "Problem.{field}");
    }
    let slugs = catalogue(&doc);
    for slug in [
        "validation",
        "origin-mismatch",
        "ceremony-refused",
        "already-redeemed",
        "api-key-refused",
        "route-not-found",
        "method-not-allowed",
        "internal",
    ] {
        assert!(
            slugs.contains_key(slug),
            "{slug} missing from the Problem catalogue"
        );
    }
    assert_eq!(slugs["last-key"], 409);
    // The README's API table is covered.
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/v1/signup",
        "/v1/signin/key/verify",
        "/v1/keys/{id}",
        "/v1/step-ups/{id}/redeem",
        "/v1/api-keys/verify",
        "/v1/admin/withdrawals/freeze",
        "/.well-known/jwks.json",
        "/healthz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains(path), "{path} is not documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_documents_success_and_real_problems() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let doc = document(&app).await;
    let slugs = catalogue(&doc);
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "only {} operations documented", ops.len());
    let ids: BTreeSet<&str> = ops
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), ops.len(), "operation ids are not unique");
    for (method, path, op) in &ops {
        let what = format!("{} {path}", method.to_uppercase());
        assert!(
            op["summary"].is_string() || op["description"].is_string(),
            "{what}: no summary"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no success response"
        );
        assert!(responses.contains_key("500"), "{what}: no 500 problem");
        let security = op["security"].to_string();
        if security.contains("\"session\"") && !security.contains("{}") {
            assert!(responses.contains_key("401"), "{what}: session without 401");
        }
        if security.contains("\"service\"") {
            assert!(
                responses.contains_key("401") && responses.contains_key("403"),
                "{what}"
            );
        }
        if op.get("requestBody").is_some() {
            assert!(
                responses.contains_key("422") && responses.contains_key("415"),
                "{what}"
            );
        }
        for (status, response) in responses {
            let Some(content) = response["content"].get("application/problem+json") else {
                continue;
            };
            assert!(
                content["schema"]["$ref"]
                    .as_str()
                    .unwrap()
                    .ends_with("/Problem"),
                "{what} {status}"
            );
            let description = response["description"].as_str().unwrap();
            let named: Vec<&str> = description.split('`').skip(1).step_by(2).collect();
            assert!(
                !named.is_empty(),
                "{what} {status}: names no problem type: {description}"
            );
            for slug in named {
                let real = slugs
                    .get(slug)
                    .unwrap_or_else(|| panic!("{what}: unknown problem {slug}"));
                assert_eq!(
                    real.to_string(),
                    *status,
                    "{what}: {slug} is not a {status}"
                );
            }
        }
    }
    // A state-changing browser route documents the Origin check.
    let signup = &doc["paths"]["/v1/signup"]["post"]["responses"]["403"]["description"];
    assert!(
        signup.as_str().unwrap().contains("origin-mismatch"),
        "{signup}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let doc = document(&app).await;
    let browser = app.browser();
    for (method, path, _) in operations(&doc) {
        let (status, _, body) = send(&app, &browser, &method, &path).await;
        let ty = body["type"].as_str().unwrap_or_default();
        assert!(
            !ty.ends_with("/route-not-found") && !ty.ends_with("/method-not-allowed"),
            "{} {path} is documented but not routed: {status} {body}",
            method.to_uppercase()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undocumented_methods_are_405_and_unknown_paths_404_problems() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let doc = document(&app).await;
    // Browser client: it sends the Origin, so the Origin check is not what answers.
    let browser = app.browser();
    let mut probed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let (status, ct, body) = send(&app, &browser, method, path).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{} {path} is routed but not documented: {body}",
                method.to_uppercase()
            );
            assert_eq!(ct, "application/problem+json", "{method} {path}");
            assert_eq!(
                body["type"],
                "https://keyward.dev/problems/method-not-allowed"
            );
            probed += 1;
        }
    }
    assert!(probed > 100, "{probed}");
    for path in ["/v1/nope", "/v1/keys/x/y", "/openapi.yaml", "/v2/signup"] {
        let (status, ct, body) = send(&app, &browser, "get", path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(ct, "application/problem+json", "{path}");
        assert_eq!(
            body["type"], "https://keyward.dev/problems/route-not-found",
            "{path}"
        );
    }
}

/// Routes may only be registered through `OpenApiRouter::routes(routes!(…))`,
/// which documents them. Plain registrations are allowed only for the web
/// pages (not part of the JSON API).
#[test]
fn no_route_is_registered_outside_the_documented_routers() {
    const ALLOWED_FILES: &[&str] = &["web.rs"];
    const FORBIDDEN: &[&str] = &[".route(", ".route_service(", ".nest(", ".nest_service("];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(root.join("routes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.push(root.join("app.rs"));
    assert!(files.len() > 10);
    let mut offenders = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if ALLOWED_FILES.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let plain_router = code
                .match_indices("Router::new()")
                .any(|(i, _)| !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
            if plain_router || FORBIDDEN.iter().any(|f| code.contains(f)) {
                offenders.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes registered without OpenAPI documentation (use OpenApiRouter + routes!):\n{}",
        offenders.join("\n")
    );
}

/// Sends `body` with `content_type` to `path` and returns status, content type and body.
async fn send_body(
    app: &TestApp,
    client: &reqwest::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &'static str,
) -> (StatusCode, String) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let resp = client
        .request(method, app.url(&concrete(path)))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (resp.status(), ct)
}

/// Every documented operation that takes a body answers a malformed body
/// with 400 and a wrong content type with 415 — problem+json, never a 5xx —
/// when called with valid credentials (so the body, not the auth, is what fails).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_and_wrong_content_types_are_problems_on_every_route() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let doc = document(&app).await;
    let user = app.enrolled("walker").await;
    let all = [
        "stepup:create",
        "stepup:read",
        "stepup:approve",
        "stepup:redeem",
        "apikeys:verify",
        "admin",
    ];
    let service = app.service(&app.service_key(&all).await);
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        if op.get("requestBody").is_none() {
            continue;
        }
        let schemes: Vec<String> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_object())
            .flat_map(|o| o.keys().cloned())
            .collect();
        let service_only =
            schemes.iter().any(|s| s == "service") && !schemes.iter().any(|s| s == "session");
        let client = if service_only {
            &service
        } else {
            &user.browser
        };
        // The key step of sign-in needs a session at the password stage.
        let other_stage = path.starts_with("/v1/signin/key/");
        for (ct, body, expected) in [
            ("application/json", "{not json", StatusCode::BAD_REQUEST),
            ("text/plain", "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ] {
            let (status, got_ct) = send_body(&app, client, &method, &path, ct, body).await;
            assert!(
                !status.is_server_error(),
                "{method} {path} with {ct}: {status}"
            );
            assert_eq!(
                got_ct, "application/problem+json",
                "{method} {path} with {ct}"
            );
            if other_stage {
                assert!(
                    status == expected || status == StatusCode::UNAUTHORIZED,
                    "{method} {path} with {ct}: {status}"
                );
            } else {
                assert_eq!(status, expected, "{method} {path} with {ct}");
            }
            checked += 1;
        }
    }
    // 15 operations take a body today; fewer means the document lost some.
    assert!(
        checked >= 30,
        "only {checked} probes: is the document missing request bodies?"
    );
}
