//! `keyward audit …` and `keyward approval …`: verifying and exporting the
//! hash-chained audit log, and re-verifying a step-up's stored approval
//! evidence offline.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{
    EXIT_APPROVAL_INVALID, EXIT_APPROVAL_UNVERIFIED, EXIT_AUDIT_BROKEN, connect, parse_id, when,
};
use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};
use crate::config::Config;
use crate::flows::admin::{self, Outcome};
use crate::store::audit::{AuditRow, verify_chain};

/// Entries read per query by `audit export`.
const EXPORT_PAGE: i64 = 500;

/// `keyward audit …`
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chain; exit 2 and name the first broken link if any.
    Verify,
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

/// `keyward approval …`
#[derive(Debug, Subcommand)]
pub enum ApprovalAction {
    /// Re-verify a step-up's approval from the database alone: the stored
    /// details hash to the stored digest, the evidence signature covers the
    /// challenge bound to that digest for this rp id and origin, and the
    /// signing key is the approving key. Exit 0 if valid, 3 if not.
    Verify {
        /// The step-up id.
        step_up_id: String,
    },
}

/// Runs `keyward audit …`.
pub(super) async fn run_audit(action: AuditAction, config: &Config) -> anyhow::Result<ExitCode> {
    match action {
        AuditAction::Verify => {
            let db = connect(config).await?;
            match verify_chain(&db).await? {
                Ok(n) => {
                    println!("audit chain intact: {n} entries");
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    println!(
                        "audit chain BROKEN at entry {}: {}",
                        broken.seq, broken.reason
                    );
                    Ok(ExitCode::from(EXIT_AUDIT_BROKEN))
                }
            }
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

/// Parses an RFC 3339 instant into milliseconds since the epoch.
fn parse_instant(s: &str) -> anyhow::Result<Millis> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| anyhow::anyhow!("--since `{s}` is not an RFC 3339 instant: {e}"))?;
    Ok(Millis::try_from(t.unix_timestamp_nanos() / 1_000_000)?)
}

/// Runs `keyward approval …`.
pub(super) async fn run_approval(
    action: ApprovalAction,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let ApprovalAction::Verify { step_up_id } = action;
    let id = parse_id(&step_up_id)?;
    let db = connect(config).await?;
    let report = admin::verify_approval(&db, config, id).await?;
    let row = &report.row;
    println!(
        "step-up {id}: {}, status {}, approved {}",
        row.action,
        row.status,
        when(row.approved_at)
    );
    for (name, outcome) in &report.checks {
        let (word, note) = match outcome {
            Outcome::Passed(note) => ("ok", note),
            Outcome::Unverified(note) => ("UNVERIFIED", note),
            Outcome::Failed(note) => ("FAILED", note),
        };
        println!("  {name:<14} {word:<8} {note}");
    }
    Ok(match (report.failure(), report.unverified()) {
        (Some((check, why)), _) => {
            println!("INVALID: {check}: {why}");
            ExitCode::from(EXIT_APPROVAL_INVALID)
        }
        (None, Some((check, why))) => {
            println!("UNVERIFIED: {check}: {why}");
            ExitCode::from(EXIT_APPROVAL_UNVERIFIED)
        }
        (None, None) => {
            println!("VALID: the approval verifies");
            ExitCode::SUCCESS
        }
    })
}
