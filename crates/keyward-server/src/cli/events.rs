//! `keyward events …`: where push delivery of security events stands per
//! webhook endpoint, and sending an endpoint events again from a position.

use std::process::ExitCode;

use clap::Subcommand;

use super::{connect, now, when};
use crate::config::Config;
use crate::domain::audit::AuditEvent;
use crate::store::{audit, event_deliveries};

/// `keyward events …`
#[derive(Debug, Subcommand)]
pub enum EventsAction {
    /// Each webhook endpoint: the last position delivered, how many log
    /// entries wait, consecutive failures, the last error, the next try.
    Status,
    /// Send an endpoint every event after a position again (receivers
    /// de-duplicate on `jti`); audited as `events.replayed`.
    Replay {
        /// The endpoint's URL, as configured.
        #[arg(long)]
        endpoint: String,
        /// Send the events after this position (0: the whole log).
        #[arg(long)]
        after: i64,
    },
}

/// Runs `keyward events …`.
pub(super) async fn run_events(action: EventsAction, config: &Config) -> anyhow::Result<ExitCode> {
    let db = connect(config).await?;
    match action {
        EventsAction::Status => {
            let head = audit::last_seq(&db).await?;
            let rows = event_deliveries::all(&db).await?;
            if rows.is_empty() {
                println!("no webhook has been delivered to yet (events.webhooks)");
            }
            for r in rows {
                println!("{}", r.endpoint);
                println!(
                    "  delivered up to: {} (log head {head}, {} waiting)",
                    r.delivered_seq,
                    head - r.delivered_seq
                );
                println!(
                    "  failures:        {}{}",
                    r.attempts,
                    r.last_error
                        .map_or(String::new(), |e| format!(", last: {e}"))
                );
                println!("  last attempt:    {}", when(r.last_attempt_at));
                println!(
                    "  next attempt:    {}",
                    when(Some(r.next_attempt_at).filter(|&t| t > now()))
                );
            }
        }
        EventsAction::Replay { endpoint, after } => {
            anyhow::ensure!(after >= 0, "--after must be 0 or more");
            if !event_deliveries::rewind(&db, &endpoint, after).await? {
                anyhow::bail!(
                    "`{endpoint}` is not a webhook endpoint delivered to (see `keyward events status`)"
                );
            }
            let event = audit::Event {
                user_id: None,
                event: AuditEvent::EventsReplayed {
                    endpoint: endpoint.clone(),
                    after,
                    by: "cli".into(),
                },
                ip: None,
            };
            audit::append_alone(&db, &event, now()).await?;
            println!("{endpoint} will be sent every event after {after} again");
        }
    }
    Ok(ExitCode::SUCCESS)
}
