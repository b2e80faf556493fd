//! A test user (browser, password, keys), the problem assertions every
//! test uses, and the account set-ups built on them.

use std::time::Duration;

use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::TestApp;

/// State that a refused request must not change.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub keys: Vec<(Uuid, i64, String, bool)>,
    pub logins: usize,
}

/// A user with a browser (cookie jar) and a security key.
pub struct User {
    pub browser: reqwest::Client,
    pub username: String,
    pub password: String,
    pub key: SoftKey,
    /// The user's other enrolled keys (`key` is the one they use).
    pub other_keys: Vec<SoftKey>,
    pub user_id: Uuid,
}

impl User {
    /// The user takes a new key in hand, keeping the one they held.
    pub fn new_key(&mut self, key: SoftKey) {
        let held = std::mem::replace(&mut self.key, key);
        self.other_keys.push(held);
    }

    /// The user takes the key they held before `key` back in hand.
    pub fn previous_key(&mut self) {
        if let Some(previous) = self.other_keys.pop() {
            let held = std::mem::replace(&mut self.key, previous);
            self.other_keys.insert(0, held);
        }
    }
}

pub(super) async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let problem = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.to_str()
                .unwrap_or("")
                .starts_with("application/problem+json")
        });
    let text = resp.text().await.unwrap();
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status.is_client_error() || status.is_server_error() {
        assert!(
            problem,
            "error {status} without application/problem+json: {body}"
        );
    }
    (status, body)
}

/// Asserts a problem response of the given status and type slug.
#[track_caller]
pub fn assert_problem(got: &(StatusCode, Value), status: StatusCode, slug: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let ty = got.1["type"].as_str().unwrap_or_default();
    assert!(
        ty.ends_with(&format!("/{slug}")),
        "expected problem type {slug}, got {}",
        got.1
    );
    assert_eq!(got.1["status"], status.as_u16());
}

/// Asserts a `ceremony-refused` problem with this reason.
#[track_caller]
pub fn assert_refused(got: &(StatusCode, Value), reason: &str) {
    assert_problem(got, StatusCode::BAD_REQUEST, "ceremony-refused");
    assert_eq!(got.1["reason"], reason, "{}", got.1);
}

/// A destination used by the withdrawal tests.
pub const DEST: &str = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";

impl TestApp {
    /// Creates a service key with `scopes` directly in the store; returns the token.
    pub async fn service_key(&self, scopes: &[&str]) -> String {
        self.named_service_key("exchange-test", scopes).await
    }

    /// Creates a service key named `name` with `scopes`; returns the token.
    pub async fn named_service_key(&self, name: &str, scopes: &[&str]) -> String {
        let (_, token) = keyward_server::flows::admin::create_service_key(
            &self.state.db,
            name,
            &scopes.join(","),
            self.state.clock.now(),
        )
        .await
        .unwrap();
        secrecy::ExposeSecret::expose_secret(&token).to_owned()
    }

    /// Two operators lift the global withdrawal freeze (the two-person
    /// rule).
    pub async fn lift_global_freeze(&self) {
        self.by_two_operators("/v1/admin/withdrawals/unfreeze")
            .await;
    }

    /// One operator asks at `path`, a second approves; the decision.
    pub async fn by_two_operators(&self, path: &str) -> Value {
        let first = self.service(&self.named_service_key("operator-a", &["admin"]).await);
        let second = self.service(&self.named_service_key("operator-b", &["admin"]).await);
        let reason = json!({ "reason": "ticket 1" });
        let (status, asked) = self.post(&first, path, reason).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
        let id = asked["id"].as_str().unwrap();
        let approve = format!("/v1/admin/requests/{id}/approve");
        let (status, done) = self.post(&second, &approve, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        done
    }

    /// A client for an exchange service: bearer token, no cookies, no Origin.
    pub fn service(&self, token: &str) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// Answers step-up `id` in the user's browser session with `forge`.
    pub async fn approve(&self, user: &mut User, id: &str, forge: &Forge) -> (StatusCode, Value) {
        let (status, options) = self
            .post(
                &user.browser,
                &format!("/v1/step-ups/{id}/options"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let credential = user.key.assert_with(&options, &self.origin, forge);
        let body = json!({ "ceremony": options["ceremony"], "credential": credential });
        self.post(&user.browser, &format!("/v1/step-ups/{id}/verify"), body)
            .await
    }

    /// An enrolled user with `DEST` on their allow-list past its cooling-off,
    /// signed in again (the clock moved a day).
    pub async fn withdrawal_ready(&self, name: &str) -> User {
        self.withdrawal_ready_with(name, SoftKey::new()).await
    }

    /// [`TestApp::withdrawal_ready`] with `key` as the user's key.
    pub async fn withdrawal_ready_with(&self, name: &str, key: SoftKey) -> User {
        let mut user = self.signed_up(name).await;
        user.key = key;
        let (status, body) = self.enrol(&mut user, Forge::default()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let add = json!({ "network": "bitcoin", "address": DEST, "label": "cold wallet" });
        let (status, body) = self.post(&user.browser, "/v1/addresses", add).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let id = body["step_up"]["id"].as_str().unwrap().to_owned();
        let (status, body) = self.approve(&mut user, &id, &Forge::default()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.advance(Duration::from_secs(24 * 3600 + 1));
        user.browser = self.sign_in(&mut user).await;
        user
    }
}
