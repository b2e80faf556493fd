//! The `keyward` command line: the server (`serve`, the default) and the
//! operator's tools — migrations, audit log verification and export, service
//! keys, signing-key rotation, the withdrawal freeze, account locks, and
//! offline re-verification of an approval. Every command opens the database
//! named by the configuration (applying migrations first).
//!
//! Exit codes: 0 success; 1 error (bad input, unknown id, database
//! unreachable); 2 audit chain broken (`audit verify`; clap also uses 2 for
//! command-line usage errors); 3 approval evidence invalid (`approval verify`).

mod approval;
mod audit;
mod events;
mod import;
mod keys;
mod metadata;
mod ops;
mod requests;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::config::{Config, LogFormat};
use crate::db::{Db, DbOptions};
use crate::{App, Clock};

pub use approval::ApprovalAction;
pub use audit::AuditAction;
pub use events::EventsAction;
pub use keys::{ServiceKeyAction, SigningKeyAction};
pub use metadata::{AttestationAction, KeysAction};
pub use ops::{UserAction, WithdrawalsAction};
pub use requests::RequestsAction;

/// Exit code: the audit hash chain is broken.
pub const EXIT_AUDIT_BROKEN: u8 = 2;
/// Exit code: an approval's evidence does not verify.
pub const EXIT_APPROVAL_INVALID: u8 = 3;
/// Exit code: an approval could not be checked completely (never VALID).
pub const EXIT_APPROVAL_UNVERIFIED: u8 = 4;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (invalid input, unknown id or name, database unreachable, ...)
  2  audit chain broken (`audit verify`); also command-line usage errors
  3  approval evidence invalid (`approval verify`)
  4  approval unverified: a check could not be made (`approval verify`)

Configuration comes from --config (or ./keyward.toml) and KEYWARD_* variables,
e.g. KEYWARD_DATA_DIR (SQLite) or KEYWARD_DATABASE_URL.";

/// Keyward: hardware-backed second factor for an exchange.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// TOML config file (default: ./keyward.toml if present).
    #[arg(long, short, global = true, env = "KEYWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Audit log tools: verify the hash chain, export entries.
    #[command(after_help = EXIT_CODES)]
    Audit {
        /// What to do with the audit log.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Configuration tools.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Service keys: the bearer tokens of the exchange's back-end services.
    #[command(after_help = EXIT_CODES)]
    ServiceKey {
        /// What to do with service keys.
        #[command(subcommand)]
        action: ServiceKeyAction,
    },
    /// Approval-token signing keys (published as JWKS).
    #[command(after_help = EXIT_CODES)]
    SigningKey {
        /// What to do with signing keys.
        #[command(subcommand)]
        action: SigningKeyAction,
    },
    /// The operator's emergency freeze of all withdrawals.
    #[command(after_help = EXIT_CODES)]
    Withdrawals {
        /// What to do with the global freeze.
        #[command(subcommand)]
        action: WithdrawalsAction,
    },
    /// Accounts: show, lock, unlock.
    #[command(after_help = EXIT_CODES)]
    User {
        /// What to do with the account.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Security events pushed to webhooks: delivery status, replay.
    #[command(after_help = EXIT_CODES)]
    Events {
        /// What to do with event delivery.
        #[command(subcommand)]
        action: EventsAction,
    },
    /// The two-person rule: list, approve or cancel operator requests
    /// (KEYWARD_OPERATOR_KEY names the operator).
    #[command(after_help = EXIT_CODES)]
    Requests {
        /// What to do with the requests.
        #[command(subcommand)]
        action: RequestsAction,
    },
    /// Approvals: re-verify a step-up's stored evidence offline.
    #[command(after_help = EXIT_CODES)]
    Approval {
        /// What to do with the approval.
        #[command(subcommand)]
        action: ApprovalAction,
    },
    /// FIDO metadata: import a BLOB, show the one in use.
    #[command(after_help = EXIT_CODES)]
    Attestation {
        /// What to do with attestation metadata.
        #[command(subcommand)]
        action: AttestationAction,
    },
    /// Users' security keys: list the suspended ones.
    #[command(after_help = EXIT_CODES)]
    Keys {
        /// What to list.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Bulk-load accounts with their security keys from JSON lines, all or
    /// nothing, in one transaction (audited as `accounts.imported`).
    #[command(after_help = EXIT_CODES)]
    Import {
        /// JSON-lines file (`-` for standard input): one account per line,
        /// `{"username", "password_hash" (argon2id PHC), "credentials":
        /// [{"id", "label", "key" (stored webauthn-rs key)}]}`.
        file: PathBuf,
    },
}

/// `keyward config …`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Load and validate the configuration, print it (as TOML-like JSON).
    Check,
}

/// Logs go to stdout for the server, to stderr for the operator's tools.
fn init_tracing(format: LogFormat, to_stdout: bool) {
    let filter = EnvFilter::try_from_env("KEYWARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = if to_stdout {
        BoxMakeWriter::new(std::io::stdout)
    } else {
        BoxMakeWriter::new(std::io::stderr)
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the CLI.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Serve);
    // Operator tools keep stdout for their output (tokens, JSON lines).
    init_tracing(config.log_format, matches!(command, Command::Serve));
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = connect(&config).await?;
            println!("migrations applied ({})", db.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { action } => audit::run_audit(action, &config).await,
        Command::Config {
            action: ConfigAction::Check,
        } => {
            println!("{}", serde_json::to_string_pretty(&redacted(&config))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::ServiceKey { action } => keys::run_service_key(action, &config).await,
        Command::SigningKey { action } => keys::run_signing_key(action, &config).await,
        Command::Withdrawals { action } => ops::run_withdrawals(action, &config).await,
        Command::User { action } => ops::run_user(action, &config).await,
        Command::Events { action } => events::run_events(action, &config).await,
        Command::Requests { action } => requests::run_requests(action, &config).await,
        Command::Approval { action } => approval::run_approval(action, &config).await,
        Command::Import { file } => import::run_import(file, &config).await,
        Command::Attestation { action } => metadata::run_attestation(action, &config).await,
        Command::Keys { action } => metadata::run_keys(action, &config).await,
    }
}

/// Opens the configured database, applying migrations.
async fn connect(config: &Config) -> anyhow::Result<Db> {
    Db::connect(&config.database_url(), &DbOptions::from(config)).await
}

/// The current instant.
fn now() -> crate::clock::Millis {
    Clock::default().now()
}

/// An optional instant for tables: RFC 3339, or `-`.
fn when(ms: Option<crate::clock::Millis>) -> String {
    ms.map_or_else(|| "-".to_owned(), crate::clock::rfc3339)
}

/// Parses an id argument (a malformed id is an error, exit 1).
fn parse_id(raw: &str) -> anyhow::Result<uuid::Uuid> {
    raw.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("`{raw}` is not a valid id (expected a UUID)"))
}

/// Prints rows under a header, columns padded to line up.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

/// The config with credentials in the database URL masked.
fn redacted(config: &Config) -> Config {
    let mut c = config.clone();
    if let Some(url) = c.database_url.as_mut()
        && let Ok(mut parsed) = url::Url::parse(url)
        && parsed.password().is_some()
    {
        let _ = parsed.set_password(Some("REDACTED"));
        *url = parsed.to_string();
    }
    c
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let trust = crate::app::trust_summary(&config);
    if config.attestation.policy == crate::config::AttestationMode::Any {
        tracing::warn!("{trust}");
    } else {
        tracing::info!("{trust}");
    }
    let listen = config.listen;
    let origin = config.origin_header();
    let rp_id = config.rp_id.clone();
    let app = App::build(config, Clock::default(), None).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    tracing::info!(%listen, %origin, %rp_id, database = app.state.db.backend(), "Keyward listening; open {origin}");
    if let Some(metrics_at) = app.state.config.metrics_listen {
        let private = tokio::net::TcpListener::bind(metrics_at)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {metrics_at} (metrics_listen): {e}"))?;
        let router = crate::metrics::private_router(app.state.db.clone());
        tracing::info!(%metrics_at, "metrics served without a key on metrics_listen");
        // Ends with the process; a scrape has nothing to finish.
        tokio::spawn(async move {
            if let Err(e) = axum::serve(private, router).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async {
        let _ = stopped.await;
    }));
    shutdown_signal().await;
    let _ = stop.send(());
    // In-flight requests get a bounded time to finish; a stuck client must
    // not keep a replica from restarting.
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(joined) => {
            joined??;
            tracing::info!("shut down cleanly");
        }
        Err(_) => tracing::warn!(
            grace_s = SHUTDOWN_GRACE.as_secs(),
            "in-flight requests did not finish in time; exiting"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// How long in-flight requests may run after SIGTERM/SIGINT.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
