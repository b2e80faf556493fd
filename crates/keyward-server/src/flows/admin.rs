//! Operator actions behind the `keyward` command line: service keys,
//! signing-key rotation, the global withdrawal freeze, account locks, offline
//! re-verification of an approval's evidence, and paging through the audit
//! log for export. Every change is audited with `"by": "cli"`.

use keyward_access::token::{self, TokenKind};
use keyward_fido::credential::key_from_json;
use keyward_fido::{AssertionEvidence, FidoError, verify_evidence};
use secrecy::SecretString;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Millis;
use crate::config::Config;
use crate::db::{Db, Tx};
use crate::domain::audit::{AuditEvent, Locked};
use crate::domain::details::canonical_json;
use crate::domain::names::Username;
use crate::error::{ApiError, ApiResult};
use crate::flows::step_ups::approval;
use crate::flows::throttle::account_prefixes;
use crate::signing;
use crate::store::audit;
use crate::store::service_keys::{self, ServiceKeyRow};
use crate::store::step_ups::{self, StepUpRow};
use crate::store::{api_keys, credentials, logins, throttle, users};

/// Who the audit entries of these actions name.
const BY: &str = "cli";

/// The scopes a service key may carry.
pub const SERVICE_SCOPES: [&str; 8] = [
    "stepup:create",
    "stepup:read",
    "stepup:approve",
    "stepup:redeem",
    "apikeys:verify",
    "admin",
    "metrics",
    "events:read",
];

/// Parses `a,b,c` into the stored space-separated form: every scope known,
/// duplicates dropped, order kept. An unknown scope is an error naming it.
pub fn parse_scopes(raw: &str) -> anyhow::Result<String> {
    let mut scopes: Vec<&str> = Vec::new();
    for scope in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !SERVICE_SCOPES.contains(&scope) {
            anyhow::bail!(
                "unknown scope `{scope}` (known: {})",
                SERVICE_SCOPES.join(", ")
            );
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    anyhow::ensure!(!scopes.is_empty(), "at least one scope is required");
    Ok(scopes.join(" "))
}

/// A service key's name: 1–64 characters after trimming, no control characters.
pub fn service_key_name(raw: &str) -> anyhow::Result<String> {
    let name = raw.trim();
    anyhow::ensure!(
        (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control),
        "name must be 1 to 64 characters, no control characters"
    );
    Ok(name.to_owned())
}

/// Creates a service key. The plaintext token is returned once and never stored.
pub async fn create_service_key(
    db: &Db,
    name: &str,
    scopes: &str,
    now: Millis,
) -> anyhow::Result<(ServiceKeyRow, SecretString)> {
    let name = service_key_name(name)?;
    let scopes = parse_scopes(scopes)?;
    let token = token::generate(TokenKind::Service);
    let row = ServiceKeyRow {
        id: Uuid::new_v4(),
        name,
        prefix: token.prefix.clone(),
        scopes,
        created_at: now,
        revoked_at: None,
    };
    service_keys::insert(db, &row, token.hash.as_bytes()).await?;
    let created = AuditEvent::ServiceKeyCreated {
        id: row.id,
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        scopes: row.scopes.clone(),
        by: BY.into(),
    };
    audit_alone(db, created, now).await?;
    Ok((row, token.plaintext))
}

/// Revokes a service key; false if it is unknown or already revoked.
pub async fn revoke_service_key(db: &Db, id: Uuid, now: Millis) -> anyhow::Result<bool> {
    let revoked = service_keys::revoke(db, id, now).await?;
    if revoked {
        let by = BY.into();
        audit_alone(db, AuditEvent::ServiceKeyRevoked { id, by }, now).await?;
    }
    Ok(revoked)
}

/// Rotates the approval-token signing key; returns the new `kid`.
pub async fn rotate_signing_key(
    db: &Db,
    custody: &signing::Custody,
    now: Millis,
) -> anyhow::Result<String> {
    let kid = signing::rotate(db, custody, now).await?;
    let rotated = AuditEvent::SigningKeyRotated {
        kid: kid.clone(),
        by: BY.into(),
    };
    audit_alone(db, rotated, now).await?;
    Ok(kid)
}

/// An operator event (no client address: the CLI runs on the server host).
fn event(user_id: Option<Uuid>, event: AuditEvent) -> audit::Event<'static> {
    audit::Event {
        user_id,
        event,
        ip: None,
    }
}

/// Appends one operator event in its own transaction.
async fn audit_alone(db: &Db, e: AuditEvent, now: Millis) -> anyhow::Result<()> {
    Ok(audit::append_alone(db, &event(None, e), now).await?)
}

/// The account with this (not yet normalised) username; not found if
/// there is none.
pub async fn user_named(db: &Db, raw: &str) -> ApiResult<users::UserRow> {
    let name = Username::parse(raw)?;
    users::by_name(db, name.as_str())
        .await?
        .ok_or(ApiError::NotFound("account"))
}

/// Locks an account (operator lock, until unlocked): sign-in and approvals
/// are refused, every session ends, its API keys stop verifying and its
/// withdrawals are refused. Tightening: one operator is enough. Returns
/// false if it was already locked.
pub async fn lock_account(
    db: &Db,
    username: &str,
    by: &str,
    ip: Option<&str>,
    now: Millis,
) -> ApiResult<bool> {
    let user = user_named(db, username).await?;
    let mut tx = db.begin().await?;
    if !users::set_locked(&mut tx, user.id, Some(now)).await? {
        return Ok(false);
    }
    let ended = logins::end_others(&mut tx, user.id, None, "account_locked", now).await?;
    // Cached API-key state on every instance must see the lock.
    api_keys::bump_epoch(&mut tx).await?;
    let locked = Locked::Operator {
        by: by.into(),
        sessions_ended: ended,
    };
    let locked = audit::Event {
        user_id: Some(user.id),
        event: AuditEvent::AccountLocked(locked),
        ip,
    };
    audit::append(&mut tx, &locked, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// What an unlock cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlocked {
    /// The operator lock was lifted.
    pub lock: bool,
    /// Throttling scopes of the account cleared (its browsers, API mode).
    pub scopes: u64,
}

/// Lifts the operator lock and clears the account's throttling (every
/// browser's failures and backoff), inside the transaction of the approved
/// operator request (`operator_requests`): loosening needs two operators.
pub async fn unlock_in(
    tx: &mut Tx,
    user_id: Uuid,
    by: &str,
    now: Millis,
) -> Result<Unlocked, sqlx::Error> {
    let Some(user) = users::by_id_in(tx, user_id).await? else {
        return Ok(Unlocked {
            lock: false,
            scopes: 0,
        });
    };
    let lock = users::set_locked(tx, user.id, None).await?;
    let mut scopes = 0;
    for prefix in account_prefixes(&user.username) {
        scopes += throttle::reset_prefix(tx, &prefix).await?;
    }
    api_keys::bump_epoch(tx).await?;
    let unlocked = AuditEvent::AccountUnlocked {
        by: by.into(),
        lock_lifted: lock,
        throttles_cleared: scopes,
    };
    audit::append(tx, &event(Some(user.id), unlocked), now).await?;
    Ok(Unlocked { lock, scopes })
}

/// What `user show` prints about an account. Never the password hash.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    /// Account id.
    pub id: Uuid,
    /// Normalised username.
    pub username: String,
    /// Created.
    pub created_at: Millis,
    /// Enrolled security keys.
    pub keys: usize,
    /// Self-freeze, policy hold.
    pub policy: Option<users::PolicyRow>,
    /// Failed attempts from browsers the account has not signed in from.
    pub throttle: Option<throttle::Counter>,
    /// When the operator locked it, if locked.
    pub locked_at: Option<Millis>,
}

/// Summarises an account.
pub async fn account(db: &Db, username: &str) -> anyhow::Result<AccountSummary> {
    let user = user_named(db, username).await?;
    let keys = credentials::for_user(db, user.id).await?.len();
    let policy = users::policy_now(db, user.id).await?;
    let locked_at = policy.as_ref().and_then(|p| p.locked_at);
    let [untrusted, ..] = account_prefixes(&user.username);
    let counter = throttle::get(db, &untrusted).await?;
    Ok(AccountSummary {
        id: user.id,
        username: user.username,
        created_at: user.created_at,
        keys,
        policy,
        throttle: counter,
        locked_at,
    })
}

/// The result of one check of [`verify_approval`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed, with a note.
    Passed(String),
    /// Could not be made, with why: the approval is then unverified, never
    /// valid.
    Unverified(String),
    /// Failed, with why.
    Failed(String),
}

/// A step-up's approval, re-verified from the database alone.
#[derive(Debug, Clone)]
pub struct ApprovalReport {
    /// The step-up as stored.
    pub row: StepUpRow,
    /// Checks in the order run; stops after the first failure.
    pub checks: Vec<(&'static str, Outcome)>,
}

impl ApprovalReport {
    /// The first failed check and why, if any.
    pub fn failure(&self) -> Option<(&'static str, &str)> {
        self.checks.iter().find_map(|(name, o)| match o {
            Outcome::Failed(why) => Some((*name, why.as_str())),
            _ => None,
        })
    }

    /// The first check that could not be made and why, if any.
    pub fn unverified(&self) -> Option<(&'static str, &str)> {
        self.checks.iter().find_map(|(name, o)| match o {
            Outcome::Unverified(why) => Some((*name, why.as_str())),
            _ => None,
        })
    }
}

/// Re-verifies the approval of step-up `id`: the stored details hash to the
/// stored digest and are canonical; the evidence signature covers the
/// challenge derived from nonce and digest, for this rp id and origin; and
/// its public key is the approving key's, if that key is still enrolled.
/// Errors (not found, never approved) are `Err`; a failed check is a report.
pub async fn verify_approval(db: &Db, config: &Config, id: Uuid) -> anyhow::Result<ApprovalReport> {
    let row = step_ups::get(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no step-up with id {id}"))?;
    if row.evidence.is_none() && row.approved_at.is_none() {
        anyhow::bail!("step-up {id} was never approved (status {})", row.status);
    }
    let mut checks = Vec::new();
    run_checks(db, config, &row, &mut checks).await?;
    Ok(ApprovalReport { row, checks })
}

/// Runs the checks in order, recording each; stops after the first failure.
async fn run_checks(
    db: &Db,
    config: &Config,
    row: &StepUpRow,
    checks: &mut Vec<(&'static str, Outcome)>,
) -> anyhow::Result<()> {
    if let Some(ev) = offline_checks(config, row, checks) {
        checks.push(("key", check_key(db, row, &ev).await?));
    }
    Ok(())
}

/// The checks that need only the row and the config; the parsed evidence if
/// they all pass.
fn offline_checks(
    config: &Config,
    row: &StepUpRow,
    checks: &mut Vec<(&'static str, Outcome)>,
) -> Option<AssertionEvidence> {
    step(checks, "digest", check_digest(row).map(|n| ((), n)))?;
    step(checks, "details", check_details(row).map(|n| ((), n)))?;
    let ev = row
        .evidence
        .as_deref()
        .ok_or_else(|| "approved, but no evidence is stored".to_owned())
        .and_then(|e| serde_json::from_str(e).map_err(|e| format!("does not parse: {e}")));
    let ev: AssertionEvidence = step(checks, "evidence", ev.map(|ev| (ev, "parses".into())))?;
    let origin = config.origin_header();
    let facts = approval::challenge_of(row)
        .map_err(|_| "stored nonce or digest malformed".to_owned())
        .and_then(|challenge| {
            verify_evidence(&ev, &challenge, &config.rp_id, &origin).map_err(|e| match e {
                FidoError::Refused { reason } => reason.to_owned(),
                other => other.to_string(),
            })
        })
        .map(|f| {
            let note = format!(
                "covers the step-up challenge for rp id {} at {origin} (counter {})",
                config.rp_id, f.counter
            );
            (f, note)
        });
    let facts = step(checks, "signature", facts)?;
    let uv = match row.user_verified {
        Some(true) if !facts.user_verified => {
            Err("recorded as user-verified but the UV flag is not set".to_owned())
        }
        recorded => Ok((
            (),
            format!("UV flag {}, recorded {recorded:?}", facts.user_verified),
        )),
    };
    step(checks, "user_verified", uv)?;
    Some(ev)
}

/// Records a check's outcome; its value if it passed.
fn step<T>(
    checks: &mut Vec<(&'static str, Outcome)>,
    name: &'static str,
    result: Result<(T, String), String>,
) -> Option<T> {
    match result {
        Ok((value, note)) => {
            checks.push((name, Outcome::Passed(note)));
            Some(value)
        }
        Err(why) => {
            checks.push((name, Outcome::Failed(why)));
            None
        }
    }
}

fn check_digest(row: &StepUpRow) -> Result<String, String> {
    let actual = hex::encode(Sha256::digest(row.details.as_bytes()));
    if actual == row.digest {
        Ok(format!("SHA-256(details) = {actual}"))
    } else {
        Err(format!(
            "SHA-256(details) is {actual}, stored digest is {}",
            row.digest
        ))
    }
}

fn check_details(row: &StepUpRow) -> Result<String, String> {
    let parsed = serde_json::from_str::<Value>(&row.details)
        .map_err(|_| "details are not JSON".to_owned())?;
    if canonical_json(&parsed) != row.details {
        return Err("details are not in canonical form".into());
    }
    if parsed.get("action").and_then(Value::as_str) != Some(row.action.as_str()) {
        return Err(format!("details do not name the action `{}`", row.action));
    }
    let asset = parsed.pointer("/details/asset").and_then(Value::as_str);
    if row.asset.is_some() && row.asset.as_deref() != asset {
        return Err("the asset column differs from the details".into());
    }
    Ok(format!("canonical `{}` details", row.action))
}

/// The evidence's key must be the approving key's as it was enrolled for
/// this user — read from the append-only key history, so a key removed
/// since still checks. A key the history does not know leaves the approval
/// unverified, never valid.
async fn check_key(db: &Db, row: &StepUpRow, ev: &AssertionEvidence) -> anyhow::Result<Outcome> {
    let Some(key_id) = row.credential_key_id else {
        return Ok(Outcome::Unverified("no approving key recorded".into()));
    };
    let Some(key) = credentials::enrolled_ever(db, key_id).await? else {
        return Ok(Outcome::Unverified(format!(
            "approving key {key_id} is not in the key history; public key not checked"
        )));
    };
    if key.user_id != row.user_id {
        return Ok(Outcome::Failed(format!(
            "approving key {key_id} belongs to another user"
        )));
    }
    if key.credential_id != ev.credential_id {
        return Ok(Outcome::Failed(format!(
            "credential id differs from approving key {key_id}"
        )));
    }
    let enrolled = key_from_json(&key.key_json)
        .and_then(|k| keyward_fido::public_key_of(&k))
        .map_err(|e| anyhow::anyhow!("enrolled key {key_id} unreadable: {e}"))?;
    Ok(if enrolled == ev.public_key {
        Outcome::Passed(format!("public key is enrolled key {key_id}'s"))
    } else {
        Outcome::Failed(format!("public key is not enrolled key {key_id}'s"))
    })
}
