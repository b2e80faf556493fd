//! Crash durability (issue 7): a real `keyward serve` process under load —
//! soft-key users signing in and approving withdrawals that a service then
//! redeems — is killed with SIGKILL at random moments and restarted on the
//! same database. Whatever a client saw acknowledged must survive the kills:
//! approvals (and their tokens), single redeems, consumed challenges,
//! signature counters and the audit chain. A request that got no answer
//! (connection refused or cut by the kill) is unacknowledged, so either
//! outcome is fine and the client retries; any 5xx is a failure.

mod checks;
mod events;
mod load;

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_server::{Config, Db, DbOptions};
use rand::Rng;
use reqwest::StatusCode;
use tokio::sync::watch;
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::Backend;
use checks::{check_counters, check_offline, check_online};
use load::{Shared, run_user, set_up};

backend_tests!(
    acknowledged_state_survives_sigkill_under_load,
    events_committed_before_a_sigkill_are_pushed_after_restart,
);
use events::events_committed_before_a_sigkill_are_pushed_after_restart;

/// Kills under load; one more ends the run, before the offline checks.
pub(super) const KILLS: usize = 10;
/// Concurrent users, each with its own soft key, doing operations in turn.
const USERS: usize = 4;
/// The origin every incarnation is configured with (clients send it; the
/// listening port changes at each restart).
pub(super) const ORIGIN: &str = "http://localhost:8080";
const SCOPES: &str = "stepup:create,stepup:read,stepup:redeem,stepup:approve";

/// One database and the configuration every `keyward` process shares.
pub(super) struct Deployment {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    url: String,
    schema: Option<String>,
}

impl Deployment {
    async fn new(backend: &Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut env: Vec<(String, String)> = [
            ("KEYWARD_DATA_DIR", dir.path().display().to_string()),
            ("KEYWARD_ORIGIN", ORIGIN.into()),
            ("KEYWARD_LOG", "warn".into()),
            // Cheap argon2: the run exercises durability, not hashing cost.
            ("KEYWARD_PASSWORD__MEMORY_KIB", "1024".into()),
            ("KEYWARD_PASSWORD__ITERATIONS", "1".into()),
            ("KEYWARD_PASSWORD__PARALLELISM", "1".into()),
            // New keys and addresses usable at once (the policy is tested elsewhere).
            ("KEYWARD_WITHDRAWALS__HOLD_HOURS", "0".into()),
            ("KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS", "0".into()),
            // Every simulated user signs up from 127.0.0.1.
            ("KEYWARD_THROTTLE__SIGNUPS_PER_IP", "100000".into()),
            // Many servers share the suite's PostgreSQL (see helpers.rs).
            ("KEYWARD_DATABASE_MAX_CONNECTIONS", "6".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let (url, schema) = match backend {
            Backend::Sqlite => {
                let file = dir.path().join("keyward.db");
                (format!("sqlite://{}?mode=rwc", file.display()), None)
            }
            Backend::Postgres(url) => {
                // A schema of our own, created (and migrated) before any process uses it.
                let schema = format!("kw_{}", Uuid::new_v4().simple());
                let opts = DbOptions {
                    pg_schema: Some(schema.clone()),
                    ..DbOptions::from(&Config::default())
                };
                if let Db::Postgres(pool) = Db::connect(url, &opts).await.unwrap() {
                    pool.close().await;
                }
                let sep = if url.contains('?') { '&' } else { '?' };
                let aimed = format!("{url}{sep}options=-c%20search_path%3D{schema}");
                env.push(("KEYWARD_DATABASE_URL".into(), aimed));
                (url.clone(), Some(schema))
            }
        };
        Self {
            dir,
            env,
            url,
            schema,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("KEYWARD_")) {
            cmd.env_remove(name);
        }
        cmd.args(args)
            .current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    /// Runs a `keyward` CLI command to completion.
    pub(super) async fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    /// Starts incarnation `n` of `keyward serve` and waits until it answers
    /// `service` from this deployment's database (not some other process
    /// that took the port).
    async fn start(&self, n: usize, service: &reqwest::Client) -> Server {
        for _attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = std::fs::File::create(self.log(n)).unwrap();
            let child = self
                .command(&["serve"])
                .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap();
            let mut server = Server {
                child,
                base: format!("http://127.0.0.1:{port}"),
            };
            // Only this deployment knows the service key: 404 (no such
            // step-up) means our process is up and its database readable.
            let probe = format!("{}/v1/step-ups/{}", server.base, Uuid::nil());
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let answer = service.get(&probe).send().await;
                if answer.is_ok_and(|r| r.status() == StatusCode::NOT_FOUND) {
                    return server;
                }
                if let Some(exit) = server.child.try_wait().unwrap() {
                    let log = std::fs::read_to_string(self.log(n)).unwrap_or_default();
                    // Someone else took the port between our probe and the bind.
                    assert!(
                        log.contains("cannot listen"),
                        "incarnation {n} exited ({exit}) before it was ready:\n{log}"
                    );
                    break;
                }
                assert!(Instant::now() < deadline, "incarnation {n} never ready");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("incarnation {n} found no free port");
    }

    /// A client for a service key made with the CLI (`name`, `scopes`).
    async fn service(&self, name: &str, scopes: &str) -> reqwest::Client {
        let out = self
            .cli(&["service-key", "create", "--name", name, "--scopes", scopes])
            .await;
        assert!(out.status.success(), "{out:?}");
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
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

    pub(super) fn log(&self, n: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("serve-{n}.log"))
    }

    /// The database, opened by the test itself once no server runs.
    pub(super) async fn open(&self) -> Db {
        let opts = DbOptions {
            pg_schema: self.schema.clone(),
            ..DbOptions::from(&Config::default())
        };
        Db::connect(&self.url, &opts).await.unwrap()
    }
}

/// A `keyward serve` process; SIGKILLed (`Child::kill` on Unix) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn acknowledged_state_survives_sigkill_under_load(backend: Backend) {
    let started = Instant::now();
    let deployment = Deployment::new(&backend).await;
    let service = deployment.service("exchange", SCOPES).await;

    let (set_base, base) = watch::channel(None);
    let shared = Arc::new(Shared {
        base,
        stop: AtomicBool::new(false),
        service,
        ledger: Mutex::default(),
    });
    let mut server = deployment.start(0, &shared.service).await;
    set_base.send_replace(Some(server.base.clone()));
    let mut users = Vec::new();
    for index in 0..USERS {
        users.push(set_up(&shared, index).await);
    }
    let keys: Vec<(Uuid, Vec<u8>)> = users
        .iter()
        .map(|u| (u.user_id, u.key.credential_ids()[0].clone()))
        .collect();

    // Load, with kills at random moments of it.
    let load_started = Instant::now();
    let tasks: Vec<_> = users
        .into_iter()
        .map(|user| tokio::spawn(run_user(shared.clone(), user)))
        .collect();
    for n in 1..=KILLS {
        let ms = rand::thread_rng().gen_range(100..=800);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        set_base.send_replace(None);
        drop(server); // SIGKILL, and reaped
        if n % 2 == 1 {
            // What is on disk now, before a server touches it: later
            // assertions would hide a counter update lost in this crash.
            let seen = shared.ledger.lock().unwrap().max_counter.clone();
            check_counters(&deployment, &keys, &seen).await;
        }
        server = deployment.start(n, &shared.service).await;
        set_base.send_replace(Some(server.base.clone()));
    }
    // A last stretch without kills, so every user finishes its operation.
    tokio::time::sleep(Duration::from_millis(500)).await;
    shared.stop.store(true, Ordering::SeqCst);
    let mut users = Vec::new();
    for task in tasks {
        users.push(task.await.unwrap());
    }
    let load_time = load_started.elapsed();

    let ledger = std::mem::take(&mut *shared.ledger.lock().unwrap());
    let statuses = check_online(&shared, &ledger, &users, &server.base).await;
    drop(server); // the last kill
    check_offline(&deployment, &ledger, &statuses, &keys).await;

    let redeemed = ledger.redeem_oks.values().filter(|n| **n == 1).count();
    let backend = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    println!(
        "crash test ({backend}): {KILLS}+1 SIGKILLs, {} sign-ins, {} approvals and {redeemed} \
         redeems acknowledged, {} assertions replayed; {} requests cut off by a kill, {} refused \
         while down; load {:.1} s, whole test {:.1} s",
        ledger.sign_ins,
        ledger.approvals.len(),
        ledger.accepted.len(),
        ledger.cut,
        ledger.refused,
        load_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
}
