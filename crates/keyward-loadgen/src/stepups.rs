//! Withdrawal step-ups as an exchange drives them: the back end creates the
//! step-up (service key), the signed-in user asks for options and approves
//! with a key assertion (the browser API), the back end redeems the
//! approval. Each worker owns one imported account, signed in once, with the
//! destination allow-listed (needs `withdrawals.address_cooling_hours = 0`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::accounts::{self, Account, Imported};
use crate::stats::Outcome;
use crate::web::{Browser, Service};

/// The allow-listed destination.
pub const DEST: &str = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";

/// One worker's signed-in account.
pub struct Worker {
    browser: Browser,
    account: Account,
}

/// Approves step-up `id` with the worker's key.
pub async fn approve(w: &mut Worker, id: &str, origin: &str) -> Result<Duration, String> {
    let options = w
        .browser
        .post("options", &format!("/v1/step-ups/{id}/options"), &json!({}))
        .await?;
    let credential = accounts::assert(&mut w.account.key, &options, origin)?;
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let started = Instant::now();
    w.browser
        .post("verify", &format!("/v1/step-ups/{id}/verify"), &body)
        .await?;
    Ok(started.elapsed())
}

/// Signs in worker `w`'s account and allow-lists [`DEST`].
pub async fn prepare(
    w: usize,
    workers: usize,
    imported: &Imported,
    client: &reqwest::Client,
    base: &str,
    origin: &str,
    rp_id: &str,
) -> anyhow::Result<Worker> {
    let mut account = imported.account(w as u64, workers as u64, rp_id)?;
    let mut browser = Browser::new(client, base, origin);
    accounts::sign_in(&mut browser, &mut account, origin)
        .await
        .map_err(|e| anyhow::anyhow!("sign-in of {}: {e}", account.username))?;
    let mut worker = Worker { browser, account };
    let add = json!({ "network": "bitcoin", "address": DEST, "label": "bench" });
    match worker.browser.post("address", "/v1/addresses", &add).await {
        Ok(body) => {
            let id = body["step_up"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            approve(&mut worker, &id, origin)
                .await
                .map_err(|e| anyhow::anyhow!("allow-listing: {e}"))?;
        }
        // Allow-listed by an earlier run.
        Err(e) if e.contains("http 409") => {}
        Err(e) => anyhow::bail!("allow-listing for {}: {e}", worker.account.username),
    }
    Ok(worker)
}

/// Signs in and allow-lists for every worker, one after another.
pub async fn prepare_all(
    workers: usize,
    imported: &Imported,
    client: &reqwest::Client,
    base: &str,
    origin: &str,
    rp_id: &str,
) -> anyhow::Result<Arc<Vec<Mutex<Worker>>>> {
    let mut out = Vec::with_capacity(workers);
    for w in 0..workers {
        out.push(Mutex::new(
            prepare(w, workers, imported, client, base, origin, rp_id).await?,
        ));
    }
    Ok(Arc::new(out))
}

/// Makes client references unique within and across runs.
static SEQ: AtomicU64 = AtomicU64::new(0);

fn reference() -> String {
    let run = std::process::id();
    format!("bench-{run}-{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

/// The exchange asks for a withdrawal of the worker's user: the step-up id.
pub async fn create(w: &Worker, service: &Service) -> Result<String, String> {
    let body = json!({ "user": w.account.username, "action": "withdrawal", "details": {
        "asset": "BTC", "network": "bitcoin", "amount": "0.00000001", "destination": DEST,
        "client_reference": reference() } });
    let created = service.post("create", "/v1/step-ups", &body).await?;
    created
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "create: no id".to_owned())
}

/// One withdrawal: create, options, verify (timed as the `verify` phase),
/// redeem.
pub async fn once(state: &Mutex<Worker>, service: &Service, origin: &str) -> Outcome {
    let mut w = state.lock().await;
    let id = match create(&w, service).await {
        Ok(id) => id,
        Err(kind) => return Outcome::Error(kind),
    };
    let verify = match approve(&mut w, &id, origin).await {
        Ok(took) => took,
        Err(kind) => return Outcome::Error(kind),
    };
    let started = Instant::now();
    if let Err(kind) = service
        .post("redeem", &format!("/v1/step-ups/{id}/redeem"), &Value::Null)
        .await
    {
        return Outcome::Error(kind);
    }
    Outcome::Phased(vec![("verify", verify), ("redeem", started.elapsed())])
}
