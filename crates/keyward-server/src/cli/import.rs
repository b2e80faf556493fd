//! `keyward import FILE`: bulk-loads accounts with their security keys from
//! JSON lines (`-` reads standard input), for migrations from another system
//! and for load tests (`keyward-loadgen bulk-file` writes such files).
//!
//! One line per account:
//!
//! ```json
//! {"username": "alice", "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$…",
//!  "credentials": [{"id": "<credential id, base64url>", "label": "Desk key",
//!                   "key": { …webauthn-rs SecurityKey, as Keyward stores it… }}]}
//! ```
//!
//! Every line is checked (username rules, an argon2id PHC string, 1 to 10
//! keys whose `id` is the stored key's credential id) and the whole file goes
//! in ONE transaction in multi-row statements: a bad line, or a username or
//! credential id that is taken (in the file or the database), imports
//! nothing. The import is audited once (`accounts.imported`). On PostgreSQL
//! it then refreshes the planner's statistics of the tables it filled.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_fido::credential::key_to_json;
use keyward_fido::wire::SecurityKey;
use serde::Deserialize;
use uuid::Uuid;

use super::{connect, now};
use crate::clock::Millis;
use crate::config::Config;
use crate::db::Tx;
use crate::domain::audit::AuditEvent;
use crate::domain::names::{KeyLabel, Username};
use crate::flows::key_chain;
use crate::store::audit;
use crate::store::import::{self, ChainRow, KeyRow, UserRow};

/// Most keys one imported account may have.
const MAX_KEYS: usize = 10;
/// Account rows per INSERT (4 values each).
const USER_ROWS: usize = 1000;
/// Key rows per INSERT (10 values each; SQLite allows 32 766).
const KEY_ROWS: usize = 2000;

/// One line of the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    username: String,
    password_hash: String,
    credentials: Vec<LineKey>,
}

/// One key of a line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineKey {
    /// Credential id, base64url without padding.
    id: String,
    #[serde(default)]
    label: Option<String>,
    /// The stored form ([`key_to_json`]).
    key: SecurityKey,
}

/// Checks one line and turns it into rows.
fn parse(text: &str, at: Millis) -> anyhow::Result<(UserRow, Vec<KeyRow>, Vec<ChainRow>)> {
    let line: Line = serde_json::from_str(text).context("not an account object")?;
    let username = Username::parse(&line.username)
        .map_err(|e| anyhow::anyhow!("{e} (got {:?})", line.username))?;
    let phc = line.password_hash.as_str();
    if !phc.starts_with("$argon2id$") || phc.split('$').count() < 6 || phc.len() > 512 {
        bail!("password_hash: not an argon2id PHC string");
    }
    if !(1..=MAX_KEYS).contains(&line.credentials.len()) {
        bail!("credentials: 1 to {MAX_KEYS} keys per account");
    }
    let user_id = Uuid::new_v4();
    let mut keys = Vec::with_capacity(line.credentials.len());
    let mut chain_keys = Vec::with_capacity(line.credentials.len());
    for (k, c) in line.credentials.into_iter().enumerate() {
        let credential_id = URL_SAFE_NO_PAD
            .decode(&c.id)
            .map_err(|_| anyhow::anyhow!("credentials[{k}].id: not base64url"))?;
        if credential_id.is_empty() || credential_id.len() > keyward_fido::MAX_CREDENTIAL_ID_LEN {
            bail!("credentials[{k}].id: 1 to 1023 bytes");
        }
        if c.key.cred_id().as_ref() as &[u8] != credential_id.as_slice() {
            bail!("credentials[{k}]: id is not the key's credential id");
        }
        let label = KeyLabel::parse(c.label.as_deref().unwrap_or("imported key"))
            .map_err(|e| anyhow::anyhow!("credentials[{k}].label: {e}"))?;
        let record = key_chain::record(&credential_id, &c.key, None, None)
            .map_err(|e| anyhow::anyhow!("credentials[{k}].key: {e}"))?;
        chain_keys.push((record, None));
        keys.push(KeyRow {
            id: Uuid::new_v4(),
            user_id,
            credential_id,
            label: label.as_str().to_owned(),
            key_json: key_to_json(&c.key)?,
        });
    }
    let user = UserRow {
        id: user_id,
        username: username.as_str().to_owned(),
        password_hash: line.password_hash,
    };
    // Imported keys start the account's key chain, trusted on first use
    // like any account's first key.
    let mut chain = Vec::with_capacity(chain_keys.len());
    for entry in key_chain::genesis(user_id, chain_keys, None, at) {
        chain.push(ChainRow {
            user_id,
            seq: i64::try_from(entry.statement.seq)?,
            entry: serde_json::to_string(&entry)?,
            hash: entry.hash,
        });
    }
    Ok((user, keys, chain))
}

/// Runs `keyward import`.
pub(super) async fn run_import(file: PathBuf, config: &Config) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&file)
            .with_context(|| format!("cannot open {}", file.display()))?;
        Box::new(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let db = connect(config).await?;
    let started = Instant::now();
    let at = now();
    let mut tx = db.begin().await?;
    import::prepare(&mut tx).await?;
    let (mut users, mut keys, mut chain) = (Vec::new(), Vec::new(), Vec::new());
    let (mut accounts, mut key_count) = (0_u64, 0_u64);
    for (n, text) in reader.lines().enumerate() {
        let text = text.with_context(|| format!("line {}: cannot read", n + 1))?;
        if text.trim().is_empty() {
            continue;
        }
        let (user, mut k, mut c) =
            parse(&text, at).with_context(|| format!("line {}; nothing was imported", n + 1))?;
        accounts += 1;
        key_count += k.len() as u64;
        users.push(user);
        keys.append(&mut k);
        chain.append(&mut c);
        if users.len() >= USER_ROWS || keys.len() >= KEY_ROWS {
            flush(&mut tx, (&mut users, &mut keys, &mut chain), at, n + 1).await?;
        }
        if accounts % 100_000 == 0 {
            eprintln!("{accounts} accounts read…");
        }
    }
    flush(&mut tx, (&mut users, &mut keys, &mut chain), at, 0).await?;
    if accounts == 0 {
        bail!("no accounts in {}; nothing was imported", file.display());
    }
    let event = audit::Event {
        user_id: None,
        event: AuditEvent::AccountsImported {
            accounts,
            keys: key_count,
            by: "cli".into(),
        },
        ip: None,
    };
    audit::append(&mut tx, &event, at).await?;
    tx.commit().await?;
    import::analyze(&db).await?;
    println!(
        "imported {accounts} accounts with {key_count} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Inserts what is pending (accounts first: keys refer to them).
async fn flush(
    tx: &mut Tx,
    (users, keys, chain): (&mut Vec<UserRow>, &mut Vec<KeyRow>, &mut Vec<ChainRow>),
    at: Millis,
    line: usize,
) -> anyhow::Result<()> {
    let why = |e: sqlx::Error| {
        let place = if line == 0 {
            "the last lines".to_owned()
        } else {
            format!("lines up to {line}")
        };
        if crate::db::is_unique_violation(&e, "users_username_key") {
            anyhow::anyhow!("{place}: a username is taken; nothing was imported")
        } else if crate::db::is_unique_violation(&e, "credentials_credential_id_key") {
            anyhow::anyhow!("{place}: a credential id is already enrolled; nothing was imported")
        } else {
            anyhow::anyhow!("{place}: {e}; nothing was imported")
        }
    };
    import::insert_users(tx, users, at).await.map_err(why)?;
    users.clear();
    for chunk in keys.chunks(KEY_ROWS) {
        import::insert_keys(tx, chunk, at).await.map_err(why)?;
    }
    keys.clear();
    for chunk in chain.chunks(KEY_ROWS) {
        import::insert_chain(tx, chunk, at).await.map_err(why)?;
    }
    chain.clear();
    Ok(())
}
