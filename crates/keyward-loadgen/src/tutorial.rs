//! The yardstick of issue 20: webauthn-rs's own axum tutorial server
//! (kanidm/webauthn-rs `tutorial/server/axum`: users and keys in memory
//! maps, sessions in a memory store, no audit, nothing durable), driven
//! with the same software key as Keyward's ceremonies. Its routes:
//! `POST /register_start/{name}`, `/register_finish`,
//! `/login_start/{name}`, `/login_finish`, with the ceremony state in the
//! session cookie. The tutorial is built and run outside this repository;
//! see docs/benchmarks.md for the commands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward_testkit::SoftKey;
use serde_json::json;
use tokio::sync::Mutex;

use crate::accounts;
use crate::stats::Outcome;
use crate::web::Browser;

/// One registered tutorial user.
pub struct User {
    name: String,
    key: SoftKey,
    browser: Browser,
}

/// Registers `users` users (one key each), spread over `workers` workers.
pub async fn register(
    users: usize,
    workers: usize,
    client: &reqwest::Client,
    base: &str,
    origin: &str,
) -> anyhow::Result<Arc<Vec<Mutex<Vec<User>>>>> {
    let mut slots: Vec<Vec<User>> = (0..workers).map(|_| Vec::new()).collect();
    let run = std::process::id();
    for i in 0..users {
        let name = format!("tut{run}x{i}");
        let mut browser = Browser::new(client, base, origin);
        let options = browser
            .post(
                "register start",
                &format!("/register_start/{name}"),
                &json!({}),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut key = SoftKey::new();
        let credential = key
            .try_register_with(&options, origin, &Default::default())
            .map_err(|e| anyhow::anyhow!("soft key: {e}"))?;
        browser
            .post("register finish", "/register_finish", &credential)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        slots[i % workers.max(1)].push(User { name, key, browser });
    }
    Ok(Arc::new(slots.into_iter().map(Mutex::new).collect()))
}

/// One login ceremony (start, the key's assertion, finish) by the next of
/// the worker's users; the `finish` phase is timed on its own.
pub async fn login(users: &Mutex<Vec<User>>, turn: usize, origin: &str) -> Outcome {
    let mut users = users.lock().await;
    let n = users.len();
    let Some(user) = users.get_mut(turn % n.max(1)) else {
        return Outcome::Error("no user".into());
    };
    let started = Instant::now();
    let options = match user
        .browser
        .post(
            "login start",
            &format!("/login_start/{}", user.name),
            &json!({}),
        )
        .await
    {
        Ok(o) => o,
        Err(kind) => return Outcome::Error(kind),
    };
    let start: Duration = started.elapsed();
    let credential = match accounts::assert(&mut user.key, &options, origin) {
        Ok(c) => c,
        Err(kind) => return Outcome::Error(kind),
    };
    let finishing = Instant::now();
    if let Err(kind) = user
        .browser
        .post("login finish", "/login_finish", &credential)
        .await
    {
        return Outcome::Error(kind);
    }
    Outcome::Phased(vec![("start", start), ("finish", finishing.elapsed())])
}
