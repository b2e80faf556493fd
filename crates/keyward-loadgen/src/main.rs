//! `keyward-loadgen`: drives a running Keyward over HTTP (loopback only) and
//! prints completed ops/s, errors and latency percentiles per scenario.
//! Bounded in time and count; never targets anything but the given base URL,
//! which must be a loopback address.

mod accounts;
mod ceiling;
mod outage;
mod scenarios;
mod setup;
mod signin;
mod stats;
mod stepups;
mod tutorial;
mod web;

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use keyward_access::password::{PasswordHasher, PasswordParams};
use keyward_fido::RelyingParty;
use keyward_loadgen::bulk::Synthetic;

use crate::accounts::Imported;
use crate::scenarios::{api_keys, ceiling, sign_in, step_ups, through_outage, tutorial_logins};

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
