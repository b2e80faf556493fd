//! `keyward-loadgen`: drives a running Keyward over HTTP (loopback only) and
//! prints completed ops/s, errors and latency percentiles per scenario.
//! Bounded in time and count; never targets anything but the given base URL,
//! which must be a loopback address.

mod setup;
mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::stats::Outcome;

/// Keyward load generator.
#[derive(Debug, Parser)]
#[command(name = "keyward-loadgen", about)]
struct Cli {
    /// Keyward's base URL (loopback only), e.g. http://127.0.0.1:8080.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// The origin Keyward is configured with (what a browser would send).
    #[arg(long, default_value = "http://localhost:8080")]
    origin: String,
    /// Concurrent workers.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per measured scenario (after a 1 s warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Pid of the server, to report its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print one JSON object per scenario instead of a table.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// `POST /v1/api-keys/verify` against `GET /healthz` in the same run.
    ApiKeys {
        /// A service key with the `apikeys:verify` scope.
        #[arg(long, env = "KEYWARD_LOADGEN_SERVICE_KEY")]
        service_key: String,
    },
}

fn require_loopback(base: &str) -> anyhow::Result<()> {
    let host = base
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost" | "[") && !host.starts_with("127.") {
        bail!("refusing to generate load against {base}: loopback addresses only");
    }
    Ok(())
}

/// Runs `op` from `concurrency` workers for `seconds` (after a warm-up).
async fn measure<F, Fut>(name: &str, cli: &Cli, op: F) -> anyhow::Result<stats::Report>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let op = Arc::new(op);
    let warmup_end = Instant::now() + Duration::from_secs(1);
    let end = warmup_end + Duration::from_secs(cli.seconds);
    let mut workers = Vec::new();
    for _ in 0..cli.concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = stats::Samples::default();
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let outcome = op().await;
                if started >= warmup_end {
                    samples.record(started.elapsed(), outcome);
                }
            }
            samples
        }));
    }
    let mut all = stats::Samples::default();
    for w in workers {
        all.merge(w.await.context("worker panicked")?);
    }
    Ok(all.report(name, Duration::from_secs(cli.seconds)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    require_loopback(&cli.base)?;
    match &cli.scenario {
        Scenario::ApiKeys { service_key } => api_keys(&cli, service_key).await,
    }
}

async fn api_keys(cli: &Cli, service_key: &str) -> anyhow::Result<()> {
    let key = setup::user_with_api_key(&cli.base, &cli.origin).await?;
    eprintln!(
        "set up one user with a read-scoped API key ({}…)",
        &key[..15]
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(cli.concurrency)
        .build()?;
    let healthz_url = format!("{}/healthz", cli.base);
    let client = http.clone();
    let health = measure("healthz", cli, move || {
        let (client, url) = (client.clone(), healthz_url.clone());
        async move { stats::outcome(client.get(url).send().await) }
    })
    .await?;
    let verify_url = format!("{}/v1/api-keys/verify", cli.base);
    let auth = format!("Bearer {service_key}");
    let body = json!({ "key": key, "scope": "read", "client_ip": "192.0.2.10" });
    let client = http.clone();
    let verify = measure("api-key verify", cli, move || {
        let (client, url, auth, body) = (
            client.clone(),
            verify_url.clone(),
            auth.clone(),
            body.clone(),
        );
        async move {
            stats::outcome(
                client
                    .post(url)
                    .header("authorization", auth)
                    .json(&body)
                    .send()
                    .await,
            )
        }
    })
    .await?;
    let rss = cli.server_pid.and_then(stats::rss_kib);
    let ratio = verify.ops_per_sec / health.ops_per_sec.max(f64::MIN_POSITIVE);
    stats::print(&[health, verify], rss, cli.concurrency, cli.json);
    println!(
        "verify / healthz throughput ratio: {:.1} % (target ≥ 50 %)",
        ratio * 100.0
    );
    Ok(())
}
