//! `keyward-loadgen`: drives a running Keyward over HTTP (loopback only) and
//! prints completed ops/s, errors and latency percentiles per scenario.
//! Bounded in time and count; never targets anything but the given base URL,
//! which must be a loopback address.

mod accounts;
mod ceiling;
mod outage;
mod setup;
mod signin;
mod stats;
mod stepups;
mod tutorial;
mod web;

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use keyward_access::password::{PasswordHasher, PasswordParams};
use keyward_fido::RelyingParty;
use keyward_loadgen::bulk::Synthetic;
use serde_json::json;

use crate::accounts::Imported;
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
    /// Offered load, operations per second over all workers (default: as
    /// fast as they go; use half the peak for the latency target).
    #[arg(long)]
    rate: Option<f64>,
    /// Pid of the server, to report its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Cores the server may use (the ceiling is one core's rate × this;
    /// default: all of this machine's).
    #[arg(long)]
    server_cores: Option<usize>,
    /// Seconds to measure each ceiling rate (in process, one core).
    #[arg(long, default_value_t = 3)]
    ceiling_seconds: u64,
    /// argon2id memory (KiB) the server is configured with.
    #[arg(long, default_value_t = PasswordParams::default().memory_kib)]
    argon2_memory_kib: u32,
    /// argon2id iterations the server is configured with.
    #[arg(long, default_value_t = PasswordParams::default().iterations)]
    argon2_iterations: u32,
    /// argon2id lanes the server is configured with.
    #[arg(long, default_value_t = PasswordParams::default().parallelism)]
    argon2_parallelism: u32,
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
    /// Password + key sign-ins of imported accounts, against the argon2id
    /// ceiling.
    SignIn {
        #[command(flatten)]
        imported: Imported,
    },
    /// Withdrawal step-ups (create, approve with a key, redeem) of imported
    /// accounts, against the webauthn-rs verification ceiling. The server
    /// must run with `KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS=0`.
    StepUps {
        /// A service key with `stepup:create,stepup:read,stepup:redeem`.
        #[arg(long, env = "KEYWARD_LOADGEN_SERVICE_KEY")]
        service_key: String,
        #[command(flatten)]
        imported: Imported,
    },
    /// Withdrawal step-ups while a fault script breaks and mends the
    /// database: prints one JSON report of every failure (kind, slowest)
    /// and an audit of every step-up once the server answers again
    /// (acknowledged approvals redeem exactly once; nothing half-written).
    Outage {
        /// A service key with `stepup:create,stepup:read,stepup:redeem`.
        #[arg(long, env = "KEYWARD_LOADGEN_SERVICE_KEY")]
        service_key: String,
        #[command(flatten)]
        imported: Imported,
        /// Seconds to wait for the server to answer again before the audit.
        #[arg(long, default_value_t = 60)]
        settle: u64,
    },
    /// Login ceremonies (start + finish) against webauthn-rs's axum
    /// tutorial server, the in-memory yardstick of issue 20 (run it with
    /// `--base http://127.0.0.1:8080 --origin http://localhost:8080`).
    Tutorial {
        /// Users to register first (one soft key each).
        #[arg(long, default_value_t = 200)]
        users: usize,
    },
    /// Only measure and print the ceiling rates.
    Ceiling,
    /// Write synthetic accounts as `keyward import` JSON lines (no server
    /// needed): `keyward-loadgen bulk-file --users 1000000 | keyward import -`.
    BulkFile {
        /// Accounts to write.
        #[arg(long)]
        users: u64,
        /// Index of the first account.
        #[arg(long, default_value_t = 0)]
        first: u64,
        /// Seed the keys are derived from.
        #[arg(long, default_value = "keyward-bench")]
        seed: String,
        /// Username prefix (`{prefix}{index:08}`).
        #[arg(long, default_value = "bulk")]
        prefix: String,
        /// Keys per account.
        #[arg(long, default_value_t = 2)]
        keys: u32,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Threads deriving keys (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
}

impl Cli {
    fn rp(&self) -> anyhow::Result<RelyingParty> {
        let origin = url::Url::parse(&self.origin).context("--origin")?;
        let id = origin
            .host_str()
            .context("--origin has no host")?
            .to_owned();
        Ok(RelyingParty {
            id,
            origin,
            name: "Keyward".into(),
        })
    }

    fn params(&self) -> PasswordParams {
        PasswordParams {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
    }

    fn cores(&self) -> usize {
        self.server_cores.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    fn client(&self) -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .pool_max_idle_per_host(self.concurrency * 2)
            .timeout(Duration::from_secs(30))
            .build()?)
    }
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

/// Runs `op(worker)` from `concurrency` workers for `seconds` (after a
/// warm-up), paced to `--rate` if given.
async fn measure<F, Fut>(name: &str, cli: &Cli, op: F) -> anyhow::Result<stats::Report>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let op = Arc::new(op);
    let warmup_end = Instant::now() + Duration::from_secs(1);
    let end = warmup_end + Duration::from_secs(cli.seconds);
    let interval = cli
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(cli.concurrency as f64 / r));
    let n_workers = cli.concurrency as f64;
    let mut workers = Vec::new();
    for w in 0..cli.concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = stats::Samples::default();
            // Spread the workers' first slots over one interval.
            let mut slot = Instant::now()
                + interval.map_or(Duration::ZERO, |i| i.mul_f64(w as f64 / n_workers));
            loop {
                if let Some(i) = interval {
                    tokio::time::sleep_until(slot.into()).await;
                    slot += i;
                }
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let outcome = op(w).await;
                if started >= warmup_end {
                    samples.record(started.elapsed(), outcome);
                }
            }
            samples
        }));
    }
    // The server's CPU time over exactly the measured window.
    let cpu = cli.server_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(warmup_end.into()).await;
            let before = stats::cpu_seconds(pid);
            tokio::time::sleep_until(end.into()).await;
            Some(stats::cpu_seconds(pid)? - before?)
        })
    });
    let mut all = stats::Samples::default();
    for w in workers {
        all.merge(w.await.context("worker panicked")?);
    }
    let mut report = all.report(name, Duration::from_secs(cli.seconds));
    if let Some(cpu) = cpu {
        report.server_cpu_s = cpu.await.context("CPU sampler panicked")?;
    }
    Ok(report)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::BulkFile {
        users,
        first,
        seed,
        prefix,
        keys,
        out,
        threads,
    } = &cli.scenario
    {
        return bulk_file(
            &cli,
            *users,
            *first,
            seed,
            prefix,
            *keys,
            out.as_deref(),
            *threads,
        );
    }
    require_loopback(&cli.base)?;
    match &cli.scenario {
        Scenario::ApiKeys { service_key } => api_keys(&cli, service_key).await,
        Scenario::SignIn { imported } => sign_in(&cli, imported).await,
        Scenario::StepUps {
            service_key,
            imported,
        } => step_ups(&cli, service_key, imported).await,
        Scenario::Outage {
            service_key,
            imported,
            settle,
        } => through_outage(&cli, service_key, imported, *settle).await,
        Scenario::Tutorial { users } => tutorial_logins(&cli, *users).await,
        Scenario::Ceiling => {
            let c = ceiling(&cli).await?;
            println!(
                "ceiling per core: webauthn-rs verify {:.0}/s, argon2id {:.1}/s; × {} cores",
                c.webauthn_per_core,
                c.argon2_per_core,
                cli.cores()
            );
            Ok(())
        }
        Scenario::BulkFile { .. } => Ok(()),
    }
}

#[allow(clippy::too_many_arguments)]
fn bulk_file(
    cli: &Cli,
    users: u64,
    first: u64,
    seed: &str,
    prefix: &str,
    keys: u32,
    out: Option<&std::path::Path>,
    threads: Option<usize>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let hasher = PasswordHasher::new(cli.params())?;
    let hash = hasher.hash(&accounts::PASSWORD.to_owned().into(), &[])?;
    let synthetic = Synthetic::new(&cli.rp()?, seed, prefix, keys, hash)?;
    let threads = threads.unwrap_or_else(|| cli.cores());
    let mut sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).with_context(|| format!("{}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::io::stdout().lock(),
        )),
    };
    synthetic.write(&mut sink, first, users, threads)?;
    sink.flush()?;
    eprintln!(
        "wrote {users} accounts × {keys} keys (seed {seed:?}, prefix {prefix:?}) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn ceiling(cli: &Cli) -> anyhow::Result<ceiling::Ceiling> {
    let c = ceiling::measure(
        cli.rp()?,
        cli.params(),
        Duration::from_secs(cli.ceiling_seconds),
    )
    .await?;
    eprintln!(
        "ceiling (in process, one core): webauthn-rs finish_securitykey_authentication {:.0}/s, argon2id verify {:.1}/s (m={} KiB, t={}, p={}); server cores: {}",
        c.webauthn_per_core,
        c.argon2_per_core,
        cli.argon2_memory_kib,
        cli.argon2_iterations,
        cli.argon2_parallelism,
        cli.cores()
    );
    Ok(c)
}

fn finish(cli: &Cli, reports: &[stats::Report]) {
    let rss = cli.server_pid.and_then(stats::rss_kib);
    stats::print(reports, rss, cli.concurrency, cli.cores(), cli.json);
}

async fn sign_in(cli: &Cli, imported: &Imported) -> anyhow::Result<()> {
    let c = ceiling(cli).await?;
    let client = cli.client()?;
    let rp_id = cli.rp()?.id;
    let state = signin::workers(cli.concurrency);
    let (n, imported, base, origin) = (
        cli.concurrency,
        Arc::new(imported.clone()),
        cli.base.clone(),
        cli.origin.clone(),
    );
    let mut report = measure("sign-in", cli, move |w| {
        let (state, imported, client, base, origin, rp_id) = (
            state.clone(),
            imported.clone(),
            client.clone(),
            base.clone(),
            origin.clone(),
            rp_id.clone(),
        );
        async move {
            let Some(slot) = state.get(w) else {
                return Outcome::Error("worker".into());
            };
            let browser = web::Browser::new(&client, &base, &origin);
            signin::once(slot, w, n, &imported, browser, &origin, &rp_id).await
        }
    })
    .await?;
    report.ceiling = Some((
        format!("argon2id × {} cores", cli.cores()),
        c.argon2_per_core * cli.cores() as f64,
    ));
    finish(cli, &[report]);
    Ok(())
}

/// Signed-in workers with the destination allow-listed, and the exchange.
async fn step_up_workers(
    cli: &Cli,
    client: &reqwest::Client,
    service_key: &str,
    imported: &Imported,
) -> anyhow::Result<(Arc<Vec<tokio::sync::Mutex<stepups::Worker>>>, web::Service)> {
    let rp_id = cli.rp()?.id;
    let state = stepups::prepare_all(
        cli.concurrency,
        imported,
        client,
        &cli.base,
        &cli.origin,
        &rp_id,
    )
    .await?;
    eprintln!(
        "{} accounts signed in with the destination allow-listed",
        cli.concurrency
    );
    Ok((state, web::Service::new(client, &cli.base, service_key)))
}

async fn step_ups(cli: &Cli, service_key: &str, imported: &Imported) -> anyhow::Result<()> {
    let c = ceiling(cli).await?;
    let client = cli.client()?;
    let (state, service) = step_up_workers(cli, &client, service_key, imported).await?;
    let origin = cli.origin.clone();
    let mut report = measure("step-up", cli, move |w| {
        let (state, service, origin) = (state.clone(), service.clone(), origin.clone());
        async move {
            let Some(slot) = state.get(w) else {
                return Outcome::Error("worker".into());
            };
            stepups::once(slot, &service, &origin).await
        }
    })
    .await?;
    report.ceiling = Some((
        format!("webauthn-rs verify × {} cores", cli.cores()),
        c.webauthn_per_core * cli.cores() as f64,
    ));
    finish(cli, &[report]);
    Ok(())
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
    let health = measure("healthz", cli, move |_| {
        let (client, url) = (client.clone(), healthz_url.clone());
        async move { stats::outcome(client.get(url).send().await) }
    })
    .await?;
    let verify_url = format!("{}/v1/api-keys/verify", cli.base);
    let auth = format!("Bearer {service_key}");
    let body = json!({ "key": key, "scope": "read", "client_ip": "192.0.2.10" });
    let client = http.clone();
    let mut verify = measure("api-key verify", cli, move |_| {
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
    verify.ceiling = Some(("/healthz".into(), health.ops_per_sec));
    finish(cli, &[health, verify]);
    Ok(())
}

async fn tutorial_logins(cli: &Cli, users: usize) -> anyhow::Result<()> {
    let client = cli.client()?;
    let users = tutorial::register(users, cli.concurrency, &client, &cli.base, &cli.origin).await?;
    eprintln!("registered the tutorial's users");
    let turns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let origin = cli.origin.clone();
    let report = measure("tutorial login", cli, move |w| {
        let (users, origin, turns) = (users.clone(), origin.clone(), turns.clone());
        async move {
            let turn = turns.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match users.get(w) {
                Some(mine) => tutorial::login(mine, turn, &origin).await,
                None => Outcome::Error("worker".into()),
            }
        }
    })
    .await?;
    finish(cli, &[report]);
    Ok(())
}

async fn through_outage(
    cli: &Cli,
    service_key: &str,
    imported: &Imported,
    settle: u64,
) -> anyhow::Result<()> {
    let client = cli.client()?;
    let (state, service) = step_up_workers(cli, &client, service_key, imported).await?;
    let window = Duration::from_secs(cli.seconds);
    let seen = outage::drive(state, &service, &cli.origin, window).await?;
    let ready = format!("{}/readyz", cli.base);
    let deadline = Instant::now() + Duration::from_secs(settle);
    while !client
        .get(&ready)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            bail!("the server did not become ready within {settle} s after the run");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let audit = outage::audit(&service, outage::records(&seen)).await;
    println!("{}", outage::report(seen, audit, window));
    Ok(())
}
