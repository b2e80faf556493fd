//! Prometheus metrics: the process-wide recorder (installed once, rendered on
//! `GET /metrics` — no listener of its own) and one small function per
//! counter, so call sites stay one line and label sets stay fixed.
//!
//! Labels carry route templates, outcome codes and problem slugs only: never
//! raw paths, ids, usernames, addresses or secrets.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::Db;
use crate::db::SYNC_DURATION;
use crate::error::{ApiError, ApiResult};

/// Requests served, by method, route template and status.
pub const HTTP_REQUESTS: &str = "keyward_http_requests_total";
/// Request latency histogram, by method and route template.
pub const HTTP_DURATION: &str = "keyward_http_request_duration_seconds";
/// WebAuthn ceremonies, by kind and outcome.
pub const CEREMONIES: &str = "keyward_ceremonies_total";
/// Step-ups created or approved, by action and outcome.
pub const STEP_UPS: &str = "keyward_step_ups_total";
/// Redeem attempts, by outcome.
pub const REDEEMS: &str = "keyward_redeems_total";
/// API-key verifications, by outcome.
pub const API_KEY_VERIFICATIONS: &str = "keyward_api_key_verifications_total";
/// Attempts refused by throttling, by scope.
pub const THROTTLED: &str = "keyward_throttled_total";
/// Enrolled keys suspended because metadata marked their model compromised.
pub const KEYS_SUSPENDED: &str = "keyward_keys_suspended_total";
/// Security events pushed to webhooks, by outcome.
pub const EVENT_DELIVERIES: &str = "keyward_event_deliveries_total";
/// Keys suspended now (read from the database by the metadata refresh).
pub const SUSPENDED_KEYS: &str = "keyward_suspended_keys";
/// Database pool connections (open).
pub const DB_POOL_SIZE: &str = "keyward_db_pool_connections";
/// Database pool connections (idle).
pub const DB_POOL_IDLE: &str = "keyward_db_pool_idle_connections";

/// Latency buckets in seconds: 1 ms to 10 s (argon2 and database round trips).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// fsync buckets in seconds: 0.25 ms to 1 s (a local SSD syncs in well
/// under a millisecond; a virtual or network disk's flush can take tens).
const SYNC_BUCKETS: &[f64] = &[
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The process-wide handle. A global recorder can be installed only once per
/// process, and the test suite builds many apps in one process: every app
/// shares this one. `None` when another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), BUCKETS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(SYNC_DURATION.into()), SYNC_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency");
    describe_counter!(CEREMONIES, "WebAuthn ceremonies by kind and outcome");
    describe_counter!(
        EVENT_DELIVERIES,
        "Security events pushed to webhooks, by outcome (delivered, failed)"
    );
    describe_counter!(STEP_UPS, "Step-ups by action and outcome");
    describe_counter!(REDEEMS, "Step-up redeem attempts by outcome");
    describe_counter!(API_KEY_VERIFICATIONS, "API-key verifications by outcome");
    describe_counter!(THROTTLED, "Attempts refused by throttling, by scope");
    describe_gauge!(DB_POOL_SIZE, "Open database connections");
    describe_counter!(
        KEYS_SUSPENDED,
        "Enrolled keys suspended because FIDO metadata marked their model compromised"
    );
    describe_gauge!(SUSPENDED_KEYS, "Enrolled keys suspended now");
    describe_gauge!(DB_POOL_IDLE, "Idle database connections");
    describe_histogram!(
        SYNC_DURATION,
        Unit::Seconds,
        "SQLite group-commit fsyncs of the write-ahead log; every durable commit waits for one"
    );
}

/// The Prometheus exposition as an HTTP response.
pub fn exposition(db: &Db) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = render(db).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The router of the `metrics_listen` address: `/metrics` only, without a
/// key (bind it to a private interface). Not part of the API: the public
/// `/metrics` (routes/ops.rs) needs a service key.
pub fn private_router(db: Db) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let db = db.clone();
            async move { exposition(&db) }
        }),
    )
}

/// The exposition text, after updating the pool gauges of `db`.
pub fn render(db: &Db) -> String {
    let (size, idle) = match db {
        Db::Sqlite(sqlite) => (sqlite.pool.size(), sqlite.pool.num_idle()),
        Db::Postgres(pool) => (pool.size(), pool.num_idle()),
    };
    metrics::gauge!(DB_POOL_SIZE, "backend" => db.backend()).set(f64::from(size));
    metrics::gauge!(DB_POOL_IDLE, "backend" => db.backend()).set(idle as f64);
    match handle() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    }
}

/// One served request.
pub fn http(method: &'static str, route: &str, status: u16, elapsed: Duration) {
    let route = route.to_owned();
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(),
        "status" => status.to_string())
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
}

/// A finished ceremony (`registration`, `sign_in`, `reauth`, `step_up`).
pub fn ceremony(kind: &'static str, outcome: &'static str) {
    metrics::counter!(CEREMONIES, "kind" => kind, "outcome" => outcome).increment(1);
}

/// A step-up decision (`pending`, `held`, `denied`) or approval (`approved`).
pub fn step_up(action: &str, outcome: &str) {
    metrics::counter!(STEP_UPS, "action" => action.to_owned(), "outcome" => outcome.to_owned())
        .increment(1);
}

/// A redeem attempt.
pub fn redeem(outcome: &'static str) {
    metrics::counter!(REDEEMS, "outcome" => outcome).increment(1);
}

/// An API-key verification (`ok` or the refusal reason).
pub fn api_key_verification(outcome: &'static str) {
    metrics::counter!(API_KEY_VERIFICATIONS, "outcome" => outcome).increment(1);
}

/// An attempt refused by throttling (`account_locked`, `backoff`, `api_key`).
pub fn throttled(scope: &'static str) {
    metrics::counter!(THROTTLED, "scope" => scope).increment(1);
}

/// One push of a security event to a webhook (`delivered`, `failed`).
pub fn event_delivery(outcome: &'static str) {
    metrics::counter!(EVENT_DELIVERIES, "outcome" => outcome).increment(1);
}

/// Keys a metadata import suspended.
pub fn keys_suspended(count: usize) {
    metrics::counter!(KEYS_SUSPENDED).increment(count as u64);
}

/// How many keys are suspended now.
pub fn suspended_keys(count: u64) {
    metrics::gauge!(SUSPENDED_KEYS).set(count as f64);
}

/// The outcome label of a result: `ok`, a refusal reason, or the problem slug.
pub fn outcome<T>(result: &ApiResult<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => error_outcome(e),
    }
}

/// The outcome label of an error: its stable reason if it has one, else its slug.
pub fn error_outcome(e: &ApiError) -> &'static str {
    match e {
        ApiError::CeremonyRefused { reason } => reason,
        ApiError::ApiKeyRefused(reason) => reason.as_str(),
        ApiError::PolicyRefused { reason } => reason.as_str(),
        other => other.kind().slug(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_reasons_or_slugs() {
        assert_eq!(outcome::<()>(&Ok(())), "ok");
        let refused = ApiError::CeremonyRefused {
            reason: "origin_mismatch",
        };
        assert_eq!(error_outcome(&refused), "origin_mismatch");
        assert_eq!(
            error_outcome(&ApiError::AlreadyRedeemed),
            "already-redeemed"
        );
        let policy = ApiError::PolicyRefused {
            reason: keyward_api::PolicyReason::KeyAdded,
        };
        assert_eq!(error_outcome(&policy), "key_added");
    }

    #[test]
    fn counters_render_once_installed() {
        let Some(h) = handle() else { return };
        ceremony("sign_in", "ok");
        assert!(h.render().contains(CEREMONIES));
    }
}
