//! Step-ups through a fault (the database stopped and started again, a full
//! disk): every worker keeps making withdrawals while the fault script
//! breaks and mends the database; every step-up and what the server
//! acknowledged about it is remembered. Afterwards each one is audited:
//!
//! - an acknowledged approval redeems exactly once (its first redeem
//!   succeeds unless an unacknowledged redeem already took it; a second is
//!   `already-redeemed`);
//! - an acknowledged redeem is `redeemed`, and cannot be redeemed again;
//! - an unacknowledged approval is whole or absent: the step-up is either
//!   still `pending` (redeem refused `not-approved`) or `approved` with
//!   evidence that redeems once — never something in between;
//! - every failure during the fault was a problem+json 503 (or a refused
//!   connection), answered within a bound, never a 500.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::stepups::{self, Worker};
use crate::web::Service;

/// What the server acknowledged about one step-up.
#[derive(Debug, Default, Clone)]
pub struct Record {
    id: String,
    approve_acked: bool,
    redeem_tried: bool,
    redeem_acked: bool,
}

/// What one worker saw.
#[derive(Default)]
pub struct Seen {
    records: Vec<Record>,
    /// Failures by kind (`verify: http 503 unavailable`, `create: connect`).
    errors: BTreeMap<String, u64>,
    /// The longest a failed request took to fail.
    slowest_failure: Duration,
    /// Unix ms of each completed withdrawal.
    completed_at: Vec<u64>,
    /// Unix ms of each failure.
    failed_at: Vec<u64>,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Seen {
    fn failed(&mut self, kind: String, took: Duration) {
        *self.errors.entry(kind).or_default() += 1;
        self.slowest_failure = self.slowest_failure.max(took);
        self.failed_at.push(unix_ms());
    }
}

/// One withdrawal, remembered step by step.
pub async fn once(state: &Mutex<Worker>, service: &Service, origin: &str, seen: &mut Seen) {
    let mut w = state.lock().await;
    let started = Instant::now();
    let id = match stepups::create(&w, service).await {
        Ok(id) => id,
        Err(kind) => return seen.failed(kind, started.elapsed()),
    };
    let mut record = Record {
        id: id.clone(),
        ..Record::default()
    };
    let step = Instant::now();
    if let Err(kind) = stepups::approve(&mut w, &id, origin).await {
        seen.records.push(record);
        return seen.failed(kind, step.elapsed());
    }
    record.approve_acked = true;
    record.redeem_tried = true;
    let step = Instant::now();
    let redeemed = service
        .post("redeem", &format!("/v1/step-ups/{id}/redeem"), &Value::Null)
        .await;
    record.redeem_acked = redeemed.is_ok();
    seen.records.push(record);
    match redeemed {
        Ok(_) => seen.completed_at.push(unix_ms()),
        Err(kind) => seen.failed(kind, step.elapsed()),
    }
}

/// The audit's findings.
#[derive(Debug, Default)]
pub struct Audit {
    step_ups: u64,
    acknowledged_approvals: u64,
    acknowledged_redeems: u64,
    /// Acknowledged approvals redeemed now, once.
    redeemed_after: u64,
    /// Unacknowledged approvals found whole (approved, redeemed once now).
    unacknowledged_but_committed: u64,
    /// Unacknowledged approvals found not approved at all.
    unacknowledged_absent: u64,
    /// Anything that breaks a promise, described.
    violations: Vec<String>,
}

impl Audit {
    fn to_json(&self) -> Value {
        json!({
            "step_ups": self.step_ups,
            "acknowledged_approvals": self.acknowledged_approvals,
            "acknowledged_redeems": self.acknowledged_redeems,
            "redeemed_after": self.redeemed_after,
            "unacknowledged_but_committed": self.unacknowledged_but_committed,
            "unacknowledged_absent": self.unacknowledged_absent,
            "violations": self.violations,
        })
    }
}

async fn redeem(service: &Service, id: &str) -> Result<Value, String> {
    service
        .post("redeem", &format!("/v1/step-ups/{id}/redeem"), &Value::Null)
        .await
}

/// Audits every record once the server answers again.
pub async fn audit(service: &Service, records: &[Record]) -> Audit {
    let mut audit = Audit {
        step_ups: records.len() as u64,
        ..Audit::default()
    };
    for r in records {
        let id = &r.id;
        audit.acknowledged_approvals += u64::from(r.approve_acked);
        audit.acknowledged_redeems += u64::from(r.redeem_acked);
        let first = if r.redeem_acked {
            None
        } else {
            Some(redeem(service, id).await)
        };
        match (&first, r.approve_acked) {
            (None, _) => {}
            (Some(Ok(_)), true) => audit.redeemed_after += 1,
            (Some(Ok(_)), false) => audit.unacknowledged_but_committed += 1,
            // An unacknowledged redeem may have committed: it took it.
            (Some(Err(e)), true) if r.redeem_tried && e.contains("already-redeemed") => {}
            (Some(Err(e)), false) if e.contains("not-approved") => {
                audit.unacknowledged_absent += 1;
            }
            (Some(Err(e)), _) => audit.violations.push(format!(
                "{id}: approved={} but redeem: {e}",
                r.approve_acked
            )),
        }
        let redeemed_now = r.redeem_acked || first.as_ref().is_some_and(|f| f.is_ok());
        if redeemed_now || r.approve_acked {
            match redeem(service, id).await {
                Err(e) if e.contains("already-redeemed") => {}
                other => audit
                    .violations
                    .push(format!("{id}: a second redeem gave {other:?}")),
            }
        }
    }
    audit
}

/// The whole run's report.
pub fn report(seen: Seen, audit: Audit, window: Duration) -> Value {
    let last_failure = seen.failed_at.iter().max().copied();
    let first_ok_after = last_failure.and_then(|last| {
        seen.completed_at
            .iter()
            .filter(|t| **t > last)
            .min()
            .copied()
    });
    let first_failure = seen.failed_at.iter().min().copied();
    let completed = seen.completed_at.len();
    json!({
        "scenario": "step-ups through a fault",
        "seconds": window.as_secs(),
        "completed": completed,
        "errors": seen.errors,
        "slowest_failure_ms": seen.slowest_failure.as_millis() as u64,
        "first_failure_unix_ms": first_failure,
        "last_failure_unix_ms": last_failure,
        "first_success_after_last_failure_unix_ms": first_ok_after,
        "audit": audit.to_json(),
    })
}

/// Runs withdrawals from every worker for `window`, whatever fails.
pub async fn drive(
    workers: Arc<Vec<Mutex<Worker>>>,
    service: &Service,
    origin: &str,
    window: Duration,
) -> anyhow::Result<Seen> {
    let end = Instant::now() + window;
    let mut tasks = Vec::new();
    for w in 0..workers.len() {
        let (workers, service, origin) = (workers.clone(), service.clone(), origin.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            while Instant::now() < end {
                if let Some(slot) = workers.get(w) {
                    once(slot, &service, &origin, &mut seen).await;
                }
                // A worker whose request failed fast does not spin.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            seen
        }));
    }
    let mut seen = Seen::default();
    for task in tasks {
        merge(&mut seen, task.await?);
    }
    Ok(seen)
}

/// Merges the workers' observations.
fn merge(all: &mut Seen, other: Seen) {
    all.records.extend(other.records);
    for (k, v) in other.errors {
        *all.errors.entry(k).or_default() += v;
    }
    all.slowest_failure = all.slowest_failure.max(other.slowest_failure);
    all.completed_at.extend(other.completed_at);
    all.failed_at.extend(other.failed_at);
}

/// The records, for the audit.
pub fn records(seen: &Seen) -> &[Record] {
    &seen.records
}
