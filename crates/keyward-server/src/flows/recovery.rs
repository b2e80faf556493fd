//! Account recovery for a user who lost every key, without a back door:
//! one-time recovery codes (made with a fresh key touch) that, with the
//! password, only *start* a recovery; it completes after a delay during
//! which any of the account's keys can cancel it, and completing it removes
//! every key, session and API key, holds withdrawals and lets the account
//! enrol a new first key — whose key-chain genesis says it was recovered,
//! so an exchange that pinned the old chain sees the restart.

use keyward_access::token::{self, TokenKind};
use keyward_api::PolicyReason;
use keyward_api::recovery::{
    PendingRecovery, RecoveryCodes, RecoveryCompleted, RecoveryStarted, RecoveryStatus,
};
use std::time::Duration;

use rand::Rng as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::caller::Client;
use crate::clock::{Millis, rfc3339};
use crate::db::Tx;
use crate::domain::audit::AuditEvent;
use crate::error::{ApiError, ApiResult};
use crate::flows::account::password_step;
use crate::flows::throttle::{self, Via};
use crate::state::AppState;
use crate::store::recovery::{self, RecoveryRow};
use crate::store::{api_keys, audit, credentials, logins, users};

/// Codes in a set.
const CODES: usize = 10;
/// Symbols per code: 20 of 32 (5 bits each) = 100 bits.
const CODE_LEN: usize = 20;
/// RFC 4648 base32: no 0/1/8/9, so no O/0 or I/1 confusion when typed.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A code as typed (any case, dashes and spaces ignored) in its stored form:
/// the SHA-256 of its 20 symbols. `None` if it cannot be a code.
fn code_hash(typed: &str) -> Option<Vec<u8>> {
    let symbols: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = symbols.len() == CODE_LEN && symbols.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| Sha256::digest(symbols.as_bytes()).to_vec())
}

fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let symbols: Vec<char> = (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    symbols
        .chunks(5)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Makes a new set of codes (a fresh key touch needed), replacing any
/// earlier set; shown once.
pub async fn create_codes(
    app: &AppState,
    who: &SignedIn,
    client: &Client,
) -> ApiResult<RecoveryCodes> {
    who.require_fresh_key(app)?;
    let codes: Vec<String> = (0..CODES).map(|_| new_code()).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().filter_map(|c| code_hash(c)).collect();
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    recovery::replace_codes(&mut tx, who.user_id, &hashes, now).await?;
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: AuditEvent::RecoveryCodesCreated {
            count: u64::try_from(hashes.len()).unwrap_or(u64::MAX),
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(RecoveryCodes {
        codes,
        created_at: rfc3339(now),
    })
}

/// The signed-in user's codes and pending recovery.
pub async fn status(app: &AppState, user_id: Uuid) -> ApiResult<RecoveryStatus> {
    let (remaining, created) = recovery::code_status(&app.db, user_id).await?;
    let pending = recovery::pending(&app.db, user_id)
        .await?
        .map(|r| PendingRecovery {
            started_at: rfc3339(r.started_at),
            completes_at: rfc3339(r.completes_at),
        });
    Ok(RecoveryStatus {
        codes_remaining: u32::try_from(remaining).unwrap_or(0),
        codes_created_at: created.map(rfc3339),
        pending,
        delay_hours: app.config.recovery.delay.as_secs() / 3_600,
    })
}

/// Starts a recovery with the password and an unused code (spent here).
/// A wrong code after a right password counts as a failed sign-in.
pub async fn start(
    app: &AppState,
    username: &str,
    password: SecretString,
    code: &SecretString,
    client: &Client,
) -> ApiResult<RecoveryStarted> {
    let (user_id, _) = password_step(app, username, password, client).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    users::lock(&mut tx, user_id).await?;
    let spent = match code_hash(code.expose_secret()) {
        Some(hash) => recovery::spend_code(&mut tx, user_id, &hash, now).await?,
        None => false,
    };
    if !spent {
        drop(tx);
        return Err(refuse_code(app, user_id, username, client).await);
    }
    let delay = app.config.recovery.delay;
    let started = begin(&mut tx, user_id, now, delay, None, Some(&client.ip)).await?;
    tx.commit().await?;
    Ok(started)
}

/// Stores a pending recovery that completes after `delay`, with its audit
/// entry (`assisted_by`: the operators of an operator-assisted one); the
/// completion token, shown once. One pending per account: the caller holds
/// the user-row lock (`users::lock`).
pub async fn begin(
    tx: &mut Tx,
    user_id: Uuid,
    now: Millis,
    delay: Duration,
    assisted_by: Option<&str>,
    ip: Option<&str>,
) -> ApiResult<RecoveryStarted> {
    let completes_at = now + crate::clock::millis(delay);
    let secret = token::generate(TokenKind::Recovery);
    let row = RecoveryRow {
        id: Uuid::new_v4(),
        user_id,
        token_hash: secret.hash.as_bytes().to_vec(),
        status: "pending".into(),
        started_at: now,
        completes_at,
        ended_at: None,
    };
    // Under the user-row lock the read is current; the unique index stays
    // the backstop.
    if let Some(pending) = recovery::pending_in(tx, user_id).await? {
        return Err(ApiError::RecoveryPending(rfc3339(pending.completes_at)));
    }
    recovery::insert(tx, &row).await?;
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::RecoveryStarted {
            recovery_id: row.id,
            completes_at,
            assisted_by: assisted_by.map(str::to_owned),
        },
        ip,
    };
    audit::append(tx, &event, now).await?;
    Ok(RecoveryStarted {
        token: secret.plaintext.expose_secret().to_owned(),
        completes_at: rfc3339(completes_at),
    })
}

/// Counts and audits a wrong or spent code; the error to send.
async fn refuse_code(app: &AppState, user_id: Uuid, username: &str, client: &Client) -> ApiError {
    let result = async {
        let via = Via::browser(app, client, username);
        let attempt = throttle::count_failure(app, username, via, Some(&client.ip)).await?;
        let failure = attempt.failed(app).await?;
        let mut tx = app.db.begin().await?;
        throttle::audit_failure(app, &mut tx, failure, Some(user_id), Some(&client.ip)).await?;
        let event = audit::Event {
            user_id: Some(user_id),
            event: AuditEvent::RecoveryRefused {
                reason: "code".into(),
            },
            ip: Some(&client.ip),
        };
        audit::append(&mut tx, &event, app.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => ApiError::InvalidCredentials,
        Err(e) => e,
    }
}

/// One of the account's keys (a key-signed-in session) cancels the pending
/// recovery.
pub async fn cancel(app: &AppState, who: &SignedIn, client: &Client) -> ApiResult<()> {
    let pending = recovery::pending(&app.db, who.user_id)
        .await?
        .ok_or(ApiError::NotFound("recovery"))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !recovery::end(&mut tx, pending.id, "cancelled", now).await? {
        return Err(ApiError::NotFound("recovery"));
    }
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: AuditEvent::RecoveryCancelled {
            recovery_id: pending.id,
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Completes a due recovery with its token and the password: every key,
/// session and API key of the account is removed, withdrawals are held;
/// returns the account (whose session may now enrol a first key).
pub async fn complete(
    app: &AppState,
    token: &SecretString,
    password: SecretString,
    client: &Client,
) -> ApiResult<(Uuid, RecoveryCompleted)> {
    let hash = token::parse(TokenKind::Recovery, token.expose_secret())
        .map_err(|_| ApiError::InvalidCredentials)?;
    let row = recovery::by_token(&app.db, hash.as_bytes())
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let username = users::by_id(&app.db, row.user_id)
        .await?
        .ok_or(ApiError::InvalidCredentials)?
        .username;
    password_step(app, &username, password, client).await?;
    if row.status != "pending" {
        return Err(ApiError::NotFound("recovery"));
    }
    let now = app.clock.now();
    if now < row.completes_at {
        return Err(ApiError::RecoveryNotDue(rfc3339(row.completes_at)));
    }
    let held_until = now + crate::clock::millis(app.config.recovery.hold);
    let mut tx = app.db.begin().await?;
    users::lock(&mut tx, row.user_id).await?;
    if !recovery::end(&mut tx, row.id, "completed", now).await? {
        return Err(ApiError::NotFound("recovery"));
    }
    let keys_removed = credentials::delete_all(&mut tx, row.user_id).await?;
    let sessions_ended = logins::end_others(&mut tx, row.user_id, None, "recovered", now).await?;
    let api_keys_revoked = api_keys::revoke_all(&mut tx, row.user_id, now).await?;
    api_keys::bump_epoch(&mut tx).await?;
    users::security_changed(
        &mut tx,
        row.user_id,
        now,
        held_until,
        PolicyReason::Recovered,
    )
    .await?;
    let event = audit::Event {
        user_id: Some(row.user_id),
        event: AuditEvent::RecoveryCompleted {
            recovery_id: row.id,
            keys_removed,
            sessions_ended,
            api_keys_revoked,
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    app.verifier.invalidate();
    Ok((
        row.user_id,
        RecoveryCompleted {
            keys_removed,
            sessions_ended,
            api_keys_revoked,
            withdrawals_held_until: rfc3339(held_until),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_100_bits_and_read_back_however_typed() {
        let code = new_code();
        assert_eq!(code.len(), 23, "{code}");
        let hash = code_hash(&code).unwrap();
        assert_eq!(code_hash(&code.to_lowercase()), Some(hash.clone()));
        assert_eq!(code_hash(&code.replace('-', " ")), Some(hash));
        assert_ne!(new_code(), new_code());
        assert_eq!(code_hash("AAAAA-AAAAA"), None);
        assert_eq!(code_hash("AAAAA-AAAAA-AAAAA-AAAA1"), None);
    }
}
