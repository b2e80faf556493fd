//! `keyward withdrawals …` and `keyward user …`: the operator's emergency
//! withdrawal freeze, and showing, locking and unlocking accounts.
//! Tightening (freeze, lock) is immediate and audited with `"by": "cli"`;
//! loosening (unfreeze, unlock, assisted recovery) asks a second operator
//! (`requests`).

use std::process::ExitCode;

use clap::Subcommand;

use keyward_api::operators::OperatorAction;

use super::{connect, now, requests, when};
use crate::clock::rfc3339;
use crate::config::Config;
use crate::flows::admin;
use crate::store::withdrawal_controls;

/// `keyward withdrawals …`
#[derive(Debug, Subcommand)]
pub enum WithdrawalsAction {
    /// Freeze all withdrawals at once: every redeem is refused until
    /// `unfreeze` (audited as `withdrawals.frozen`).
    Freeze {
        /// Why (1 to 200 characters); kept in the audit log and shown by
        /// `status`.
        #[arg(long)]
        reason: String,
    },
    /// Ask to lift the global freeze: a second operator approves with
    /// `keyward requests approve` (both need KEYWARD_OPERATOR_KEY).
    Unfreeze {
        /// Why (1 to 200 characters); shown to the second operator.
        #[arg(long)]
        reason: String,
    },
    /// Show whether withdrawals are frozen, why, and since when.
    Status,
}

/// `keyward user …`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Show an account: id, created, key count, self-freeze and withdrawal
    /// hold, sign-in lock (never the password hash).
    Show {
        /// The username (case-insensitive).
        username: String,
    },
    /// Lock an account until unlocked: no sign-in or approval, every session
    /// ends, its API keys stop verifying (audited as `account.locked`).
    Lock {
        /// The username (case-insensitive).
        username: String,
    },
    /// Ask to unlock an account (lift the lock, clear every browser's
    /// failed attempts and backoff): a second operator approves with
    /// `keyward requests approve` (both need KEYWARD_OPERATOR_KEY).
    Unlock {
        /// The username (case-insensitive).
        username: String,
        /// Why (1 to 200 characters); shown to the second operator.
        #[arg(long)]
        reason: String,
    },
    /// Ask for an operator-assisted recovery of a user with neither keys
    /// nor recovery codes, after the exchange proved who they are: once a
    /// second operator approves, the same delay (any of the account's keys
    /// can cancel) and withdrawal hold as a recovery the user starts.
    Recover {
        /// The username (case-insensitive).
        username: String,
        /// Why, and how the user's identity was proved (1 to 200
        /// characters); shown to the second operator.
        #[arg(long)]
        reason: String,
    },
}

/// Runs `keyward withdrawals …`.
pub(super) async fn run_withdrawals(
    action: WithdrawalsAction,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    match action {
        WithdrawalsAction::Freeze { reason } => {
            let reason = reason.trim();
            anyhow::ensure!(
                (1..=200).contains(&reason.chars().count())
                    && !reason.chars().any(char::is_control),
                "reason must be 1 to 200 characters, no control characters"
            );
            let db = connect(config).await?;
            if crate::flows::withdrawal_controls::set_global_freeze(
                &db,
                now(),
                true,
                Some(reason),
                "cli",
                None,
            )
            .await?
            {
                println!("withdrawals frozen: {reason}");
            } else {
                println!("withdrawals were already frozen; nothing changed");
            }
            print_status(&db).await?;
        }
        WithdrawalsAction::Unfreeze { reason } => {
            let action = OperatorAction::GlobalUnfreeze;
            return requests::ask(config, action, None, &reason).await;
        }
        WithdrawalsAction::Status => print_status(&connect(config).await?).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_status(db: &crate::Db) -> anyhow::Result<()> {
    let (frozen, reason, changed_at) = withdrawal_controls::global_freeze_now(db).await?;
    println!("frozen:  {}", if frozen { "yes" } else { "no" });
    if let Some(reason) = reason.filter(|_| frozen) {
        println!("reason:  {reason}");
    }
    println!("changed: {}", when(Some(changed_at).filter(|&t| t > 0)));
    Ok(())
}

/// Runs `keyward user …`.
pub(super) async fn run_user(action: UserAction, config: &Config) -> anyhow::Result<ExitCode> {
    let db = connect(config).await?;
    let lock_after = config.throttle.lock_after;
    match action {
        UserAction::Show { username } => {
            let a = admin::account(&db, &username).await?;
            let policy = a.policy.as_ref();
            let frozen = policy.and_then(|p| p.frozen_at);
            let hold = policy
                .and_then(|p| p.hold_until.map(|t| (t, p.hold_reason.clone())))
                .filter(|(t, _)| *t > now());
            let failures = a.throttle.map_or(0, |c| c.failures);
            println!("id:       {}", a.id);
            println!("username: {}", a.username);
            println!("created:  {}", rfc3339(a.created_at));
            println!("keys:     {}", a.keys);
            println!(
                "frozen:   {}",
                frozen.map_or("no".to_owned(), |t| format!("yes, since {}", rfc3339(t)))
            );
            println!(
                "hold:     {}",
                hold.map_or("none".to_owned(), |(t, why)| format!(
                    "until {} ({})",
                    rfc3339(t),
                    why.unwrap_or_default()
                ))
            );
            println!(
                "locked:   {}",
                a.locked_at
                    .map_or("no".to_owned(), |t| format!("yes, since {}", rfc3339(t)))
            );
            let blocked = a.throttle.map(|c| c.blocked_until).filter(|&t| t > now());
            println!(
                "failures: {failures} of {lock_after} from unknown browsers{}",
                blocked.map_or(String::new(), |t| format!(", refused until {}", rfc3339(t)))
            );
        }
        UserAction::Lock { username } => {
            if admin::lock_account(&db, &username, "cli", None, now()).await? {
                println!("account {username} locked");
            } else {
                println!("account {username} was already locked; nothing changed");
            }
        }
        UserAction::Unlock { username, reason } => {
            let action = OperatorAction::UserUnlock;
            return requests::ask(config, action, Some(&username), &reason).await;
        }
        UserAction::Recover { username, reason } => {
            let action = OperatorAction::AssistedRecovery;
            return requests::ask(config, action, Some(&username), &reason).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
