//! The `keyward` command line: serve (default), migrate, audit verify,
//! config check. Exit codes: 0 success, 1 error, 2 audit chain broken.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};
use crate::db::{Db, DbOptions};
use crate::{App, Clock};

/// Keyward: hardware-backed second factor for an exchange.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about)]
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
    /// Audit log tools.
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
}

/// `keyward audit …`
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chain; exit 2 and name the first broken link if any.
    Verify,
}

/// `keyward config …`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Load and validate the configuration, print it (as TOML-like JSON).
    Check,
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("KEYWARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the CLI.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Db::connect(&config.database_url(), &DbOptions::default()).await?;
            println!("migrations applied ({})", db.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => {
            let db = Db::connect(&config.database_url(), &DbOptions::default()).await?;
            match crate::store::audit::verify_chain(&db).await? {
                Ok(n) => {
                    println!("audit chain intact: {n} entries");
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    println!(
                        "audit chain BROKEN at entry {}: {}",
                        broken.seq, broken.reason
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Config {
            action: ConfigAction::Check,
        } => {
            println!("{}", serde_json::to_string_pretty(&redacted(&config))?);
            Ok(ExitCode::SUCCESS)
        }
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
    if config.attestation.policy == crate::config::AttestationMode::Any {
        tracing::warn!(
            "attestation policy is `any`: every authenticator is accepted (development setting)"
        );
    }
    let listen = config.listen;
    let origin = config.origin_header();
    let rp_id = config.rp_id.clone();
    let app = App::build(config, Clock::default(), DbOptions::default()).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    tracing::info!(%listen, %origin, %rp_id, database = app.state.db.backend(), "Keyward listening; open {origin}");
    app.serve(listener, shutdown_signal()).await?;
    tracing::info!("shut down cleanly");
    Ok(ExitCode::SUCCESS)
}

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
