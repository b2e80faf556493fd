//! Test support: a real Keyward server in-process on port 0 (temporary
//! SQLite, cheap argon2, no address cooling-off), service keys inserted in
//! the store, and users with a software security key and a browser session.

use std::time::Duration;

use keyward_server::config::Config;
use keyward_server::state::AppState;
use keyward_server::{App, Clock};
use keyward_testkit::SoftKey;
use serde_json::{Value, json};

/// The allow-listed destination.
pub const DEST: &str = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";

/// A running server.
pub struct Server {
    /// `http://localhost:PORT`: the origin, and the client's base URL.
    pub origin: String,
    /// The server's state (database, clock).
    pub state: AppState,
    _dir: tempfile::TempDir,
    _task: tokio::task::JoinHandle<()>,
}

/// A user with a browser session and an enrolled soft key.
pub struct User {
    pub name: String,
    pub browser: reqwest::Client,
    pub key: SoftKey,
}

impl Server {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = Config::default();
        config.data_dir = dir.path().to_path_buf();
        config.password = keyward_access::PasswordParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        config.origin = format!("http://localhost:{port}").parse().unwrap();
        config.withdrawals.address_cooling = std::time::Duration::ZERO;
        let origin = config.origin_header();
        let app = App::build(config, Clock::default(), None).await.unwrap();
        let state = app.state.clone();
        let task = tokio::spawn(async move {
            app.serve(listener, std::future::pending()).await.unwrap();
        });
        Self {
            origin,
            state,
            _dir: dir,
            _task: task,
        }
    }

    /// A service key with `scopes`, inserted directly in the store.
    pub async fn service_key(&self, scopes: &[&str]) -> String {
        let (_, token) = keyward_server::flows::admin::create_service_key(
            &self.state.db,
            "exchange-test",
            &scopes.join(","),
            self.state.clock.now(),
        )
        .await
        .unwrap();
        secrecy::ExposeSecret::expose_secret(&token).to_owned()
    }

    /// A client with every scope the exchange uses.
    pub async fn client(&self) -> keyward_client::KeywardClient {
        let key = self
            .service_key(&[
                "stepup:create",
                "stepup:read",
                "stepup:redeem",
                "apikeys:verify",
            ])
            .await;
        keyward_client::KeywardClient::new(&self.origin, &key).unwrap()
    }

    /// A browser: its own cookie jar, sending Keyward's Origin.
    fn browser(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ORIGIN, self.origin.parse().unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    async fn post(&self, browser: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
        let resp = browser
            .post(format!("{}{path}", self.origin))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Signs up, enrols a soft key and allow-lists `DEST` (approved with the key).
    pub async fn withdrawal_ready(&self, name: &str) -> User {
        let browser = self.browser();
        let signup =
            json!({ "username": name, "password": format!("{name}-correct-horse-battery") });
        let (status, body) = self.post(&browser, "/v1/signup", signup).await;
        assert_eq!(status, 201, "{body}");
        let mut user = User {
            name: name.into(),
            browser,
            key: SoftKey::new(),
        };
        let (status, options) = self
            .post(&user.browser, "/v1/keys/registration/options", json!({}))
            .await;
        assert_eq!(status, 200, "{options}");
        let credential = user.key.register(&options, &self.origin);
        let body = json!({ "ceremony": options["ceremony"], "label": "Test key", "credential": credential });
        let (status, body) = self
            .post(&user.browser, "/v1/keys/registration/verify", body)
            .await;
        assert_eq!(status, 201, "{body}");
        let add = json!({ "network": "bitcoin", "address": DEST, "label": "cold wallet" });
        let (status, body) = self.post(&user.browser, "/v1/addresses", add).await;
        assert_eq!(status, 202, "{body}");
        let id = body["step_up"]["id"].as_str().unwrap().to_owned();
        let approved = self.approve(&mut user, &id).await;
        assert_eq!(approved["status"], "approved", "{approved}");
        user
    }

    /// The user approves step-up `id` in the browser; returns the verify
    /// response (`{status, approval, ...}`).
    pub async fn approve(&self, user: &mut User, id: &str) -> Value {
        let (status, options) = self
            .post(
                &user.browser,
                &format!("/v1/step-ups/{id}/options"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{options}");
        let credential = user.key.assert(&options, &self.origin);
        let body = json!({ "ceremony": options["ceremony"], "credential": credential });
        let (status, body) = self
            .post(&user.browser, &format!("/v1/step-ups/{id}/verify"), body)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// Withdrawal details to `DEST`.
pub fn withdrawal(amount: &str, reference: &str) -> Value {
    json!({ "asset": "BTC", "network": "bitcoin", "amount": amount,
        "destination": DEST, "client_reference": reference })
}
