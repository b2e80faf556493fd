//! `keyward attestation …` (FIDO metadata) and `keyward keys …` (enrolled
//! security keys the metadata suspended).

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{connect, now, print_table, when};
use crate::clock::rfc3339;
use crate::config::Config;
use crate::flows::metadata;
use crate::store::{credentials, metadata as stored};

/// `keyward attestation …`
#[derive(Debug, Subcommand)]
pub enum AttestationAction {
    /// Verify a FIDO Metadata Service BLOB (the JWT from
    /// https://mds3.fidoalliance.org/) and put it in use: its signature
    /// must chain to the pinned FIDO MDS roots, and its serial `no` must be
    /// greater than the one in use. Enrolled keys of models it marks
    /// compromised are suspended (they approve nothing); running servers
    /// pick the new metadata up within a minute.
    ImportMds {
        /// The BLOB file (`-` for standard input).
        file: PathBuf,
    },
    /// Show the metadata in use: serial, next update, models.
    Status,
}

/// `keyward keys …`
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// List enrolled keys suspended because metadata marks their model
    /// compromised: id, user, label, model, status, since.
    Suspended,
}

/// Runs `keyward attestation …`.
pub(super) async fn run_attestation(
    action: AttestationAction,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    match action {
        AttestationAction::ImportMds { file } => {
            let blob = read_blob(&file)?;
            let db = connect(config).await?;
            let done = metadata::import(&db, config, &blob, now(), "cli").await?;
            println!(
                "FIDO metadata no {} in use: {} models ({} compromised); next update due {}",
                done.no, done.models, done.compromised_models, done.next_update
            );
            if done.overdue {
                eprintln!(
                    "warning: this BLOB's nextUpdate ({}) has passed; fetch a newer one",
                    done.next_update
                );
            }
            println!(
                "keys suspended: {}; suspensions lifted: {}",
                done.suspended.len(),
                done.lifted.len()
            );
            for id in &done.suspended {
                println!("suspended {id}");
            }
            for id in &done.lifted {
                println!("lifted {id}");
            }
        }
        AttestationAction::Status => {
            let db = connect(config).await?;
            match stored::current(&db).await? {
                None => println!("no FIDO metadata imported"),
                Some(blob) => {
                    let models = stored::models(&db).await?;
                    let overdue = metadata::is_overdue(&blob.next_update, now());
                    println!(
                        "FIDO metadata no {}, imported {}, next update due {}{}; {} models",
                        blob.no,
                        rfc3339(blob.imported_at),
                        blob.next_update,
                        if overdue { " (OVERDUE)" } else { "" },
                        models.len()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `keyward keys …`.
pub(super) async fn run_keys(action: KeysAction, config: &Config) -> anyhow::Result<ExitCode> {
    match action {
        KeysAction::Suspended => {
            let db = connect(config).await?;
            let models = stored::models(&db).await?;
            let rows = credentials::suspended(&db)
                .await?
                .into_iter()
                .map(|k| {
                    let model = k
                        .aaguid
                        .and_then(|a| models.iter().find(|m| m.aaguid == a))
                        .map_or_else(|| "-".to_owned(), |m| m.description.clone());
                    vec![
                        k.id.to_string(),
                        k.username,
                        k.label,
                        model,
                        k.suspended_reason,
                        when(Some(k.suspended_at)),
                    ]
                })
                .collect();
            print_table(&["ID", "USER", "LABEL", "MODEL", "STATUS", "SINCE"], rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The BLOB text from `file` or standard input. BLOBs are a few MB; more
/// than 64 MB is not one.
fn read_blob(file: &PathBuf) -> anyhow::Result<String> {
    const MAX: u64 = 64 << 20;
    let mut text = String::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().take(MAX).read_to_string(&mut text)
    } else {
        std::fs::File::open(file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            .take(MAX)
            .read_to_string(&mut text)
    };
    read.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(text)
}
