//! `keyward requests …`: the two-person rule on the command line. Actions
//! that loosen protection (`withdrawals unfreeze`, `user unlock`, `user
//! recover`) only ask; a second operator approves here or over the admin
//! API. Operators are named by their admin service key, read from
//! `KEYWARD_OPERATOR_KEY` (never a command-line argument: those show in
//! process lists and shell history).

use std::process::ExitCode;

use clap::Subcommand;
use keyward_access::token::{self, TokenKind};
use keyward_api::operators::{OperatorAction, OperatorDecision, OperatorRequest};

use super::{connect, now, parse_id};
use crate::config::Config;
use crate::db::Db;
use crate::flows::operator_requests::{self, Operator, Origin};
use crate::store::service_keys;

/// The variable holding the operator's admin service key.
pub const OPERATOR_KEY_VAR: &str = "KEYWARD_OPERATOR_KEY";

/// `keyward requests …`
#[derive(Debug, Subcommand)]
pub enum RequestsAction {
    /// List requests waiting for a second operator, and those of the last
    /// week.
    List,
    /// Approve another operator's request and carry it out.
    Approve {
        /// The request's id.
        id: String,
    },
    /// Cancel a pending request.
    Cancel {
        /// The request's id.
        id: String,
    },
}

/// The operator whose admin service key is in `KEYWARD_OPERATOR_KEY`.
pub(super) async fn operator(db: &Db) -> anyhow::Result<Operator> {
    let raw = std::env::var(OPERATOR_KEY_VAR).map_err(|_| {
        anyhow::anyhow!(
            "this action needs two operators: set {OPERATOR_KEY_VAR} to your admin service key"
        )
    })?;
    let hash = token::parse(TokenKind::Service, raw.trim())
        .map_err(|_| anyhow::anyhow!("{OPERATOR_KEY_VAR} is not a service key"))?;
    let key = service_keys::by_hash(db, hash.as_bytes())
        .await?
        .ok_or_else(|| anyhow::anyhow!("{OPERATOR_KEY_VAR} is unknown or revoked"))?;
    anyhow::ensure!(
        key.has_scope("admin"),
        "{OPERATOR_KEY_VAR} names service key `{}`, which lacks the admin scope",
        key.name
    );
    Ok(Operator {
        id: key.id,
        name: key.name,
    })
}

/// Asks for a loosening action as the operator in `KEYWARD_OPERATOR_KEY`
/// and prints the request.
pub(super) async fn ask(
    config: &Config,
    action: OperatorAction,
    username: Option<&str>,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let db = connect(config).await?;
    let op = operator(&db).await?;
    let origin = Origin {
        operator: &op,
        ip: None,
        now: now(),
    };
    let request = operator_requests::ask(&db, config, &origin, action, username, reason).await?;
    print_request(&request);
    println!(
        "waiting for a second operator: `keyward requests approve {}` (another admin key) before {}",
        request.id, request.expires_at
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `keyward requests …`.
pub(super) async fn run_requests(
    action: RequestsAction,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let db = connect(config).await?;
    match action {
        RequestsAction::List => {
            let requests = operator_requests::list(&db, now()).await?;
            if requests.is_empty() {
                println!("no operator requests in the last week");
            }
            for request in &requests {
                print_request(request);
            }
        }
        RequestsAction::Approve { ref id } | RequestsAction::Cancel { ref id } => {
            let id = parse_id(id)?;
            let op = operator(&db).await?;
            let origin = Origin {
                operator: &op,
                ip: None,
                now: now(),
            };
            let decision = if matches!(action, RequestsAction::Approve { .. }) {
                operator_requests::approve(&db, config, &origin, id).await?
            } else {
                operator_requests::cancel(&db, &origin, id).await?
            };
            print_decision(&decision);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_request(r: &OperatorRequest) {
    let about = r.username.as_deref().unwrap_or("all withdrawals");
    println!(
        "{}  {:<17} {:<20} {} by {} at {} (expires {}): {}",
        r.id,
        r.action.as_str(),
        about,
        r.status,
        r.requested_by,
        r.requested_at,
        r.expires_at,
        r.reason
    );
}

fn print_decision(d: &OperatorDecision) {
    print_request(&d.request);
    if let Some(by) = &d.request.decided_by {
        println!("{} by {by}", d.request.status);
    }
    if let Some(recovery) = &d.recovery {
        println!("recovery token (give it to the user over the verified channel; shown once):");
        println!("{}", recovery.token);
        println!(
            "with it and their password the user completes the recovery from {}, unless one of the account's keys cancels it",
            recovery.completes_at
        );
    }
}
