//! `keyward service-key …` and `keyward signing-key …`: create, list and
//! revoke service keys; rotate and list approval-token signing keys. No
//! secret is ever printed, except a new service token, once.

use std::process::ExitCode;

use clap::Subcommand;
use secrecy::ExposeSecret;

use super::{connect, now, parse_id, print_table, when};
use crate::clock::rfc3339;
use crate::config::Config;
use crate::flows::admin;
use crate::store::{service_keys, signing_keys};

/// `keyward service-key …`
#[derive(Debug, Subcommand)]
pub enum ServiceKeyAction {
    /// Create a service key and print its token on stdout. The token is
    /// shown only this once: only its hash is stored.
    Create {
        /// The operator's name for the service (1 to 64 characters),
        /// e.g. `withdrawal-engine`.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes, e.g. `stepup:create,stepup:redeem`. Known
        /// scopes: stepup:create, stepup:read, stepup:approve, stepup:redeem,
        /// apikeys:verify, admin.
        #[arg(long)]
        scopes: String,
    },
    /// List service keys: id, name, display prefix, scopes, created,
    /// revoked (never the secret).
    List,
    /// Revoke a service key: its token stops working at once.
    Revoke {
        /// The key's id, as shown by `service-key list`.
        id: String,
    },
}

/// `keyward signing-key …`
#[derive(Debug, Subcommand)]
pub enum SigningKeyAction {
    /// Generate a new signing key, which signs approval tokens from now on.
    /// The previous key is retired but stays in the JWKS for 24 hours, so
    /// tokens it signed still verify.
    Rotate,
    /// List signing keys: kid, created, retired, state (never private
    /// material).
    List,
}

/// Runs `keyward service-key …`.
pub(super) async fn run_service_key(
    action: ServiceKeyAction,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    match action {
        ServiceKeyAction::Create { name, scopes } => {
            // Refuse bad input before touching the database.
            admin::service_key_name(&name)?;
            admin::parse_scopes(&scopes)?;
            let db = connect(config).await?;
            let (row, token) = admin::create_service_key(&db, &name, &scopes, now()).await?;
            eprintln!(
                "service key {} created ({}, scopes: {}); the token below is shown only once: store it now",
                row.id, row.name, row.scopes
            );
            println!("{}", token.expose_secret());
        }
        ServiceKeyAction::List => {
            let db = connect(config).await?;
            let rows = service_keys::list(&db).await?;
            let rows = rows
                .into_iter()
                .map(|k| {
                    vec![
                        k.id.to_string(),
                        k.name,
                        k.prefix,
                        k.scopes.replace(' ', ","),
                        rfc3339(k.created_at),
                        when(k.revoked_at),
                    ]
                })
                .collect();
            print_table(
                &["ID", "NAME", "PREFIX", "SCOPES", "CREATED", "REVOKED"],
                rows,
            );
        }
        ServiceKeyAction::Revoke { id } => {
            let id = parse_id(&id)?;
            let db = connect(config).await?;
            if admin::revoke_service_key(&db, id, now()).await? {
                println!("service key {id} revoked");
            } else {
                let known = service_keys::list(&db).await?;
                match known.iter().find(|k| k.id == id).and_then(|k| k.revoked_at) {
                    Some(at) => println!("service key {id} was already revoked at {}", rfc3339(at)),
                    None => anyhow::bail!("no service key with id {id}"),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `keyward signing-key …`.
pub(super) async fn run_signing_key(
    action: SigningKeyAction,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let db = connect(config).await?;
    match action {
        SigningKeyAction::Rotate => {
            let previous = signing_keys::active(&db).await?.map(|k| k.kid);
            let custody = crate::signing::Custody::load(config)?;
            let kid = admin::rotate_signing_key(&db, &custody, now()).await?;
            println!("new signing key: {kid}");
            if let Some(previous) = previous {
                println!("retired: {previous} (stays published for 24 hours)");
            }
        }
        SigningKeyAction::List => {
            let active = signing_keys::active(&db).await?.map(|k| k.kid);
            let rows = signing_keys::list(&db).await?;
            let rows = rows
                .into_iter()
                .map(|k| {
                    let state = if Some(&k.kid) == active.as_ref() {
                        "active"
                    } else if k.retired_at.is_none() {
                        "published"
                    } else {
                        "retired"
                    };
                    vec![
                        k.kid.clone(),
                        rfc3339(k.created_at),
                        when(k.retired_at),
                        state.to_owned(),
                    ]
                })
                .collect();
            print_table(&["KID", "CREATED", "RETIRED", "STATE"], rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
