//! Sign-in: password (argon2id on the server) then a key assertion, on a
//! fresh browser each time, for imported accounts.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::accounts::{self, Account, Imported};
use crate::stats::Outcome;
use crate::web::Browser;

/// A worker's accounts, built as first needed, used in turn.
pub struct Worker {
    accounts: Vec<Account>,
    next: u64,
}

/// Per-worker state for `workers` workers.
pub fn workers(workers: usize) -> Arc<Vec<Mutex<Worker>>> {
    Arc::new(
        (0..workers)
            .map(|_| {
                Mutex::new(Worker {
                    accounts: Vec::new(),
                    next: 0,
                })
            })
            .collect(),
    )
}

/// Accounts a worker keeps keys for (and cycles through).
const PER_WORKER: u64 = 64;

/// One sign-in by worker `w` in `browser` (a fresh one, without cookies).
pub async fn once(
    state: &Mutex<Worker>,
    w: usize,
    n_workers: usize,
    imported: &Imported,
    mut browser: Browser,
    origin: &str,
    rp_id: &str,
) -> Outcome {
    let mut worker = state.lock().await;
    let per = PER_WORKER.min((imported.accounts / n_workers as u64).max(1));
    let j = worker.next % per;
    worker.next += 1;
    if worker.accounts.len() as u64 <= j {
        let slot = j * n_workers as u64 + w as u64;
        match imported.account(slot, per * n_workers as u64, rp_id) {
            Ok(a) => worker.accounts.push(a),
            Err(e) => return Outcome::Error(format!("derive: {e}")),
        }
    }
    let Some(account) = worker.accounts.get_mut(j as usize) else {
        return Outcome::Error("derive".into());
    };
    match accounts::sign_in(&mut browser, account, origin).await {
        Ok(phases) => Outcome::Phased(phases),
        Err(kind) => Outcome::Error(kind),
    }
}
