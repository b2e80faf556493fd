//! `keyward audit …`: verifying and exporting the hash-chained audit log
//! and its signed checkpoints.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{EXIT_AUDIT_BROKEN, connect};
use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};
use crate::config::Config;
use crate::flows::checkpoints::{self, Verdict};
use crate::store::audit::{AuditRow, verify_chain};

/// Entries read per query by `audit export`.
const EXPORT_PAGE: i64 = 500;

/// `keyward audit …`
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chain; exit 2 and name the first broken link if any.
    /// With `--checkpoints FILE` (the lines of `audit checkpoints`, kept
    /// away from the database), also check the chain against those signed
    /// checkpoints: a rewritten and re-hashed entry, a truncation or a
    /// deleted tail exits 2 too.
    Verify {
        /// Exported checkpoints, one JSON line each (or bare tokens).
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
    },
    /// Sign a checkpoint of the chain head now and print it as a JSON line
    /// (the server also makes one every `audit_checkpoint_minutes`).
    Checkpoint,
    /// Print every stored checkpoint as JSON lines (seq, hash, at, token),
    /// to keep away from the database.
    Checkpoints,
    /// Print audit entries as JSON lines in chain order, from the first entry
    /// at or after `--since` to the end. Each line has seq, at, user_id,
    /// event, detail, ip, hash, prev_hash.
    Export {
        /// RFC 3339 instant, e.g. `2025-01-31T00:00:00Z` (default: from the
        /// first entry).
        #[arg(long)]
        since: Option<String>,
    },
}

/// Runs `keyward audit …`.
pub(super) async fn run_audit(action: AuditAction, config: &Config) -> anyhow::Result<ExitCode> {
    match action {
        AuditAction::Verify { checkpoints } => {
            let db = connect(config).await?;
            match verify_chain(&db).await? {
                Ok(n) => println!("audit chain intact: {n} entries"),
                Err(broken) => {
                    println!(
                        "audit chain BROKEN at entry {}: {}",
                        broken.seq, broken.reason
                    );
                    return Ok(ExitCode::from(EXIT_AUDIT_BROKEN));
                }
            }
            let Some(file) = checkpoints else {
                return Ok(ExitCode::SUCCESS);
            };
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let tokens = checkpoint_tokens(&text)?;
            let custody = crate::custody::Custody::load(config)?;
            match checkpoints::verify(&db, &custody, &tokens).await? {
                Verdict::Matches { checkpoints } => {
                    println!("matches {checkpoints} signed checkpoints");
                    Ok(ExitCode::SUCCESS)
                }
                Verdict::Differs { seq, reason } => {
                    println!("audit chain DIFFERS from checkpoint of entry {seq}: {reason}");
                    Ok(ExitCode::from(EXIT_AUDIT_BROKEN))
                }
            }
        }
        AuditAction::Checkpoint => {
            let db = connect(config).await?;
            let custody = crate::custody::Custody::load(config)?;
            match checkpoints::make(&db, &custody, crate::clock::Clock::default().now()).await? {
                Some(row) => println!("{}", checkpoint_json(&row)),
                None => eprintln!("nothing new to checkpoint (empty log, or the head has one)"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditAction::Checkpoints => {
            let db = connect(config).await?;
            let mut out = std::io::stdout().lock();
            for row in crate::store::audit::checkpoints(&db).await? {
                writeln!(out, "{}", checkpoint_json(&row))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditAction::Export { since } => {
            let since = since.as_deref().map(parse_instant).transpose()?;
            let db = connect(config).await?;
            let first = match since {
                Some(since) => crate::store::audit::first_seq_since(&db, since).await?,
                None => Some(1),
            };
            let Some(mut next) = first else {
                return Ok(ExitCode::SUCCESS);
            };
            loop {
                let page = crate::store::audit::page(&db, next, EXPORT_PAGE).await?;
                let Some(last) = page.last() else { break };
                next = last.seq + 1;
                let mut out = std::io::stdout().lock();
                for row in &page {
                    writeln!(out, "{}", audit_json(row))?;
                }
                out.flush()?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One audit entry as an export line. `detail` is parsed JSON (the stored
/// text as a string if it does not parse); the hashes let the reader re-check
/// the chain.
fn audit_json(row: &AuditRow) -> Value {
    let detail = serde_json::from_str::<Value>(&row.detail)
        .unwrap_or_else(|_| Value::String(row.detail.clone()));
    json!({
        "seq": row.seq,
        "at": rfc3339(row.at),
        "user_id": row.user_id,
        "event": row.event,
        "detail": detail,
        "ip": row.ip,
        "hash": row.hash,
        "prev_hash": row.prev_hash,
    })
}

/// One checkpoint as an export line.
fn checkpoint_json(row: &crate::store::audit::CheckpointRow) -> Value {
    json!({ "seq": row.seq, "hash": row.hash, "at": rfc3339(row.at), "token": row.token })
}

/// The checkpoint tokens of an export (JSON lines with `token`, or bare
/// tokens, one per line).
fn checkpoint_tokens(text: &str) -> anyhow::Result<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            if line.starts_with('{') {
                serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| v["token"].as_str().map(str::to_owned))
                    .ok_or_else(|| anyhow::anyhow!("checkpoint line {} has no token", i + 1))
            } else {
                Ok(line.to_owned())
            }
        })
        .collect()
}

/// Parses an RFC 3339 instant into milliseconds since the epoch.
fn parse_instant(s: &str) -> anyhow::Result<Millis> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| anyhow::anyhow!("--since `{s}` is not an RFC 3339 instant: {e}"))?;
    Ok(Millis::try_from(t.unix_timestamp_nanos() / 1_000_000)?)
}
