//! `keyward approval …`: re-verifying an approval from the database
//! (`verify <id>`), exporting it (`export <id>`), and verifying an export
//! offline exactly as keyward-client does (`verify --file`): the details'
//! digest, the key's assertion over the challenge bound to it, and the key's
//! place in the user's key chain, from a pin when one is given.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use keyward_proof::approval::{Expected, verify_approval};
use keyward_proof::{ApprovalEvidence, Pin, RelyingParty};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EXIT_APPROVAL_INVALID, EXIT_APPROVAL_UNVERIFIED, connect, parse_id, when};
use crate::config::Config;
use crate::flows::admin::{self, Outcome};

/// `keyward approval …`
#[derive(Debug, Subcommand)]
pub enum ApprovalAction {
    /// Re-verify an approval. With a step-up id, from the database alone:
    /// the stored details hash to the stored digest, the evidence signature
    /// covers the challenge bound to that digest for this rp id and origin,
    /// and the signing key is the approving key. With `--file` (an `approval
    /// export`), offline, as keyward-client verifies it: the digest of the
    /// details (`--details`: your own record of what was asked; else the
    /// export's), the assertion, and the key in the user's key chain
    /// (followed from `--pin`, a pin JSON, when given; the new pin is
    /// printed). Exit 0 if valid, 3 if not.
    Verify {
        /// The step-up id (database mode).
        step_up_id: Option<String>,
        /// An `approval export` (offline mode).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The details object you asked Keyward to approve (JSON file).
        #[arg(long)]
        details: Option<std::path::PathBuf>,
        /// The user's pinned chain (`{"user", "genesis", "head", "seq"}`).
        #[arg(long)]
        pin: Option<std::path::PathBuf>,
    },
    /// Print an approved step-up's evidence as JSON (user, action, details
    /// and the raw evidence with the user's key chain), for `verify --file`
    /// on another machine.
    Export {
        /// The step-up id.
        step_up_id: String,
    },
}

/// What `approval export` writes.
#[derive(Debug, Serialize, Deserialize)]
struct Export {
    /// The username.
    user: String,
    /// The action approved.
    action: String,
    /// The details approved, as Keyward stored them.
    details: Value,
    /// The raw evidence.
    evidence: ApprovalEvidence,
}

/// Runs `keyward approval …`.
pub(super) async fn run_approval(
    action: ApprovalAction,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let (step_up_id, file, details, pin) = match action {
        ApprovalAction::Export { step_up_id } => return export(&step_up_id, config).await,
        ApprovalAction::Verify {
            step_up_id: None,
            file: Some(file),
            details,
            pin,
        } => return verify_file(&file, details.as_deref(), pin.as_deref(), config),
        ApprovalAction::Verify {
            step_up_id,
            file,
            details,
            pin,
        } => (step_up_id, file, details, pin),
    };
    let (Some(step_up_id), None, None, None) = (step_up_id, file, details, pin) else {
        anyhow::bail!(
            "give a step-up id, or --file with an export (--details and --pin go with --file)"
        );
    };
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

/// Prints `approval export <id>`.
async fn export(step_up_id: &str, config: &Config) -> anyhow::Result<ExitCode> {
    let id = parse_id(step_up_id)?;
    let db = connect(config).await?;
    let row = crate::store::step_ups::get(&db, id)
        .await?
        .with_context(|| format!("no step-up with id {id}"))?;
    let assertion = row
        .evidence
        .as_deref()
        .with_context(|| format!("step-up {id} was never approved (status {})", row.status))?;
    let chain = crate::flows::key_chain::at_approval(&db, &row)
        .await
        .map_err(|e| anyhow::anyhow!("reading the key chain: {e}"))?;
    let evidence = crate::flows::step_ups::evidence_from(&row, assertion, chain)
        .context("the stored evidence does not read")?;
    let user = crate::store::users::by_id(&db, row.user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let export = Export {
        user,
        action: row.action.clone(),
        details: crate::domain::details::stored_details(&row.details),
        evidence,
    };
    println!("{}", serde_json::to_string_pretty(&export)?);
    Ok(ExitCode::SUCCESS)
}

/// `approval verify --file`: the client's checks, offline.
fn verify_file(
    file: &Path,
    details: Option<&Path>,
    pin: Option<&Path>,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let read = |path: &Path| -> anyhow::Result<Vec<u8>> {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let export: Export = serde_json::from_slice(&read(file)?)
        .with_context(|| format!("{} is not an approval export", file.display()))?;
    let (asked, whose) = match details {
        Some(path) => (
            serde_json::from_slice::<Value>(&read(path)?)
                .with_context(|| format!("{} is not JSON", path.display()))?,
            "yours",
        ),
        None => (
            export.details.clone(),
            "the export's (pass --details with your own)",
        ),
    };
    let pin: Option<Pin> = pin
        .map(|path| -> anyhow::Result<Pin> {
            serde_json::from_slice(&read(path)?)
                .with_context(|| format!("{} is not a pin", path.display()))
        })
        .transpose()?;
    let digest = match keyward_proof::details::digest_of(&export.action, &asked) {
        Ok(digest) => digest,
        Err(e) => {
            println!("INVALID: details: {e}");
            return Ok(ExitCode::from(EXIT_APPROVAL_INVALID));
        }
    };
    println!(
        "{} for {}: details {} (digest {})",
        export.action,
        export.user,
        whose,
        hex::encode(digest)
    );
    let rp = RelyingParty {
        rp_id: config.rp_id.clone(),
        origin: config.origin_header(),
    };
    let expected = Expected {
        rp: &rp,
        digest,
        require_uv: false,
        pin: pin.as_ref(),
    };
    match verify_approval(&export.evidence, &expected) {
        Ok(v) => {
            println!(
                "  assertion ok: signed for {} at {} (UV {}, counter {})",
                rp.rp_id, rp.origin, v.facts.user_verified, v.facts.counter
            );
            println!(
                "  key chain ok: {} entries from genesis {}{}; the signing key is in it",
                v.chain.seq + 1,
                v.chain.genesis,
                if pin.is_some() {
                    ", following your pin"
                } else {
                    " (no pin: the genesis is taken on trust)"
                },
            );
            println!("  pin now: {}", serde_json::to_string(&v.chain.pin())?);
            println!("VALID: the approval verifies");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("INVALID: {}: {e}", e.slug());
            Ok(ExitCode::from(EXIT_APPROVAL_INVALID))
        }
    }
}
