//! Test support: a real Keyward server on port 0 with a fresh database
//! (a temporary SQLite file, or a fresh PostgreSQL schema), a cookie-keeping
//! client per user, and a software security key per user.

use std::time::Duration;

use keyward_server::config::Config;
use keyward_server::state::AppState;
use keyward_server::{App, Clock};
use keyward_testkit::{Forge, SoftKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

mod user;
use user::read;
pub use user::{DEST, Snapshot, User, assert_problem, assert_refused};

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `KEYWARD_TEST_DATABASE_URL` is set.
    pub fn postgres() -> Option<Self> {
        std::env::var("KEYWARD_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(Self::Postgres)
    }
}

/// Generates one `#[tokio::test]` per backend for each listed test function.
/// The PostgreSQL variants are `#[ignore]`d, so a plain `cargo test` (no
/// database) reports them as ignored rather than passed; run them with
/// `KEYWARD_TEST_DATABASE_URL=… cargo test -p keyward-server --test api --
/// --ignored`. Run that way without a database URL, they fail.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "PostgreSQL: set KEYWARD_TEST_DATABASE_URL and pass --ignored"]
                async fn $name() {
                    let backend = $crate::helpers::Backend::postgres().expect(
                        "the PostgreSQL variants need KEYWARD_TEST_DATABASE_URL (a database URL)",
                    );
                    super::$name(backend).await
                }
            )*
        }
    };
}

/// Runs `$body` with `$c` bound to the pool of whichever backend `$db` is:
/// for the few tests that read or tamper with a table directly.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            keyward_server::Db::Sqlite(sqlite) => {
                let $c = &sqlite.pool;
                $body
            }
            keyward_server::Db::Postgres($c) => $body,
        }
    };
}

/// A running server.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// The origin browsers would report (`http://localhost:PORT`).
    pub origin: String,
    /// The server's state: database, clock, config.
    pub state: AppState,
    /// The database URL and PostgreSQL schema, so a second instance can share them.
    pub database: (String, Option<String>),
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

/// Cheap argon2 parameters: the tests exercise the flow, not the cost.
fn test_config(dir: &std::path::Path) -> Config {
    let mut c = Config::default();
    c.data_dir = dir.to_path_buf();
    c.password = keyward_access::PasswordParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    // Every test client signs up from 127.0.0.1; the sign-up limit has its
    // own test (throttling.rs).
    c.throttle.signups_per_ip = 100_000;
    // Every test signs in from fresh browsers: with the default effects
    // each sign-in would add a `risk.decided` entry to the audit logs the
    // other tests count exactly. Risk signals have their own tests
    // (risk.rs), which run the default effects.
    c.risk.effects = quiet_risk();
    c
}

/// Every risk signal's effect `none`.
fn quiet_risk() -> keyward_server::domain::risk::Effects {
    let none = keyward_server::domain::risk::Effect::of(keyward_api::risk::RiskEffect::None);
    keyward_server::domain::risk::Effects {
        new_device: none,
        new_network: none,
        new_country: none,
        new_asn: none,
        impossible_travel: none,
        withdrawal_velocity: none,
        recent_security_change: none,
        new_key: none,
    }
}

impl TestApp {
    pub async fn spawn(backend: &Backend) -> Self {
        Self::spawn_with(backend, |_, _| {}).await
    }

    /// Starts a server after letting the test adjust its config.
    pub async fn spawn_with(
        backend: &Backend,
        tweak: impl FnOnce(&mut Config, &std::path::Path),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = test_config(dir.path());
        config.origin = format!("http://localhost:{port}").parse().unwrap();
        let mut schema = None;
        if let Backend::Postgres(url) = backend {
            config.database_url = Some(url.clone());
            schema = Some(format!("kw_{}", Uuid::new_v4().simple()));
        }
        tweak(&mut config, dir.path());
        launch(config, schema, dir, listener).await
    }

    /// A new browser: its own cookie jar, sending Keyward's Origin.
    pub fn browser(&self) -> reqwest::Client {
        browser_for(&self.origin)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        read(
            client
                .post(self.url(path))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> (StatusCode, Value) {
        read(client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn delete(&self, client: &reqwest::Client, path: &str) -> (StatusCode, Value) {
        read(client.delete(self.url(path)).send().await.unwrap()).await
    }

    pub async fn patch(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        read(
            client
                .patch(self.url(path))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn put(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        read(client.put(self.url(path)).json(&body).send().await.unwrap()).await
    }

    /// Signs a new account up (no key yet).
    pub async fn signed_up(&self, name: &str) -> User {
        let browser = self.browser();
        let password = format!("{name}-correct-horse-battery");
        let (status, body) = self
            .post(
                &browser,
                "/v1/signup",
                json!({ "username": name, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let user_id = body["user_id"].as_str().unwrap().parse().unwrap();
        User {
            browser,
            username: name.into(),
            password,
            key: SoftKey::new(),
            user_id,
            other_keys: Vec::new(),
        }
    }

    /// Signs up and enrols a first key: the user ends up signed in.
    pub async fn enrolled(&self, name: &str) -> User {
        let mut user = self.signed_up(name).await;
        let (status, body) = self.enrol(&mut user, Forge::default()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        user
    }

    /// Runs a key registration ceremony with the user's soft key; a key
    /// added to an account is then endorsed by the key the user held before
    /// ([`User::new_key`]).
    pub async fn enrol(&self, user: &mut User, forge: Forge) -> (StatusCode, Value) {
        let (status, options) = self.register(user, forge).await;
        if status != StatusCode::ACCEPTED {
            return (status, options);
        }
        let endorser = user
            .other_keys
            .last_mut()
            .expect("a key added to an account is endorsed by one held before");
        let credential = endorser.assert(&options, &self.origin);
        let body = json!({ "ceremony": options["ceremony"], "credential": credential });
        self.post(&user.browser, "/v1/keys/endorsement/verify", body)
            .await
    }

    /// The registration ceremony alone: 201 for a first key, 202 with the
    /// endorsement's options for another.
    pub async fn register(&self, user: &mut User, forge: Forge) -> (StatusCode, Value) {
        let (status, options) = self
            .post(&user.browser, "/v1/keys/registration/options", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let credential = user.key.register_with(&options, &self.origin, &forge);
        let body = json!({ "ceremony": options["ceremony"], "label": "Test key", "credential": credential });
        self.post(&user.browser, "/v1/keys/registration/verify", body)
            .await
    }

    /// Removes key `id`, endorsed by the key the user holds.
    pub async fn remove_key(&self, user: &mut User, id: &str) -> (StatusCode, Value) {
        let (status, options) = self
            .post(
                &user.browser,
                &format!("/v1/keys/{id}/removal/options"),
                json!({}),
            )
            .await;
        if status != StatusCode::OK {
            return (status, options);
        }
        let credential = user.key.assert(&options, &self.origin);
        let body = json!({ "ceremony": options["ceremony"], "credential": credential });
        self.post(
            &user.browser,
            &format!("/v1/keys/{id}/removal/verify"),
            body,
        )
        .await
    }

    /// Password step in a fresh browser; returns the browser.
    pub async fn password_step(&self, user: &User) -> reqwest::Client {
        let browser = self.browser();
        let (status, body) = self
            .post(
                &browser,
                "/v1/signin/password",
                json!({ "username": user.username, "password": user.password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        browser
    }

    /// Key step: answers a fresh challenge with `forge`.
    pub async fn key_step(
        &self,
        browser: &reqwest::Client,
        key: &mut SoftKey,
        forge: &Forge,
    ) -> (StatusCode, Value) {
        let (status, options) = self
            .post(browser, "/v1/signin/key/options", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let credential = key.assert_with(&options, &self.origin, forge);
        self.post(
            browser,
            "/v1/signin/key/verify",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        )
        .await
    }

    /// A full sign-in in a new browser.
    pub async fn sign_in(&self, user: &mut User) -> reqwest::Client {
        let browser = self.password_step(user).await;
        let (status, body) = self
            .key_step(&browser, &mut user.key, &Forge::default())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        browser
    }

    /// A fresh key assertion for sensitive changes.
    pub async fn reauth(&self, user: &mut User) {
        let (status, options) = self
            .post(&user.browser, "/v1/reauth/options", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let credential = user.key.assert(&options, &self.origin);
        let (status, body) = self
            .post(
                &user.browser,
                "/v1/reauth/verify",
                json!({ "ceremony": options["ceremony"], "credential": credential }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// What a refused request must leave untouched for a user.
    pub async fn snapshot(&self, user_id: Uuid) -> Snapshot {
        let db = &self.state.db;
        let keys = keyward_server::store::credentials::for_user(db, user_id)
            .await
            .unwrap();
        let now = self.state.clock.now();
        let logins = keyward_server::store::logins::active_for_user(db, user_id, now)
            .await
            .unwrap();
        Snapshot {
            keys: keys
                .iter()
                .map(|k| (k.id, k.sign_count, k.label.clone(), k.possibly_cloned))
                .collect(),
            logins: logins.len(),
        }
    }

    pub fn advance(&self, by: Duration) {
        self.state.clock.advance(by);
    }
}

/// Trusts `ca_pem` (written into `dir`) as an extra attestation CA for
/// `aaguid` only, under the `trusted` policy.
pub fn trust_ca(c: &mut Config, dir: &std::path::Path, ca_pem: &str, aaguid: [u8; 16]) {
    let path = dir.join("vendor-ca.pem");
    std::fs::write(&path, ca_pem).unwrap();
    c.attestation.policy = keyward_server::config::AttestationMode::Trusted;
    c.attestation.extra_cas = vec![keyward_server::config::ExtraCa {
        pem_file: path,
        aaguids: vec![Uuid::from_bytes(aaguid)],
    }];
}

/// A withdrawal step-up request body.
pub fn withdrawal(user: &str, amount: &str, reference: &str) -> Value {
    json!({ "user": user, "action": "withdrawal", "details": {
        "asset": "BTC", "network": "bitcoin", "amount": amount, "destination": DEST, "client_reference": reference } })
}

impl TestApp {
    /// A second Keyward instance on the same database (and schema), on its
    /// own port, as a load balancer would run it.
    pub async fn spawn_beside(&self) -> TestApp {
        let (url, schema) = self.database.clone();
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = test_config(dir.path());
        config.origin = self.origin.parse().unwrap();
        config.database_url = Some(url);
        config.password = self.state.config.password;
        // Every instance on one database is given the same KEK.
        let first = &self.state.config;
        config.signing = first.signing.clone();
        config.events = first.events.clone();
        if config.signing.kek.is_none() && config.signing.kek_file.is_none() {
            config.signing.kek_file = Some(first.data_dir.join("signing.kek"));
        }
        launch(config, schema, dir, listener).await
    }
}

/// Connections each in-process test server opens to PostgreSQL at most:
/// the suite runs many servers side by side on one PostgreSQL, and needs
/// no more than this each.
const TEST_PG_CONNECTIONS: u32 = 6;

/// Builds the app from `config` and serves it on `listener` in the background.
async fn launch(
    mut config: Config,
    pg_schema: Option<String>,
    dir: tempfile::TempDir,
    listener: tokio::net::TcpListener,
) -> TestApp {
    let port = listener.local_addr().unwrap().port();
    let origin = config.origin_header();
    config.database_max_connections = TEST_PG_CONNECTIONS;
    let database = (config.database_url(), pg_schema.clone());
    let app = App::build(config, Clock::default(), pg_schema)
        .await
        .unwrap();
    let state = app.state.clone();
    let server = tokio::spawn(async move {
        app.serve(listener, std::future::pending()).await.unwrap();
    });
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        origin,
        state,
        database,
        _dir: dir,
        _server: server,
    }
}

/// A browser-like client for `origin`: a cookie jar and the `Origin` header.
pub fn browser_for(origin: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, origin.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}
