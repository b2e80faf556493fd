//! Users' key chains on Keyward's side (the format and its checks are
//! `keyward-proof`'s `chain`): the genesis entries written when an account's
//! first key is enrolled, the statements a key change must be endorsed
//! over, the endorsement checked and appended under the user-row lock, and
//! the chain an approval's evidence carries.
//!
//! Keyward keeps the chain, but an exchange does not trust it to: the
//! exchange re-verifies every endorsement from the pin it keeps. What this
//! module adds is that Keyward itself never writes an entry it could not
//! prove, so an honest server never serves a chain an exchange refuses.

use keyward_fido::wire::SecurityKey;
use keyward_proof::{ChainAction, ChainEntry, ChainKey, RelyingParty, Statement, chain};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::flows::assertion::Asserted;
use crate::state::AppState;
use crate::store::step_ups::StepUpRow;
use crate::store::{credentials, key_chain};

/// Keyward's rp id and origin, as an exchange configures them to verify.
pub fn relying_party(app: &AppState) -> RelyingParty {
    RelyingParty {
        rp_id: app.config.rp_id.clone(),
        origin: app.config.origin_header(),
    }
}

/// How the chain records a key: id, public key, AAGUID and the digest of
/// its attestation object (of nothing, for a key whose attestation was not
/// kept: one enrolled before chains existed).
pub fn record(
    credential_id: &[u8],
    key: &SecurityKey,
    aaguid: Option<Uuid>,
    attestation: Option<&[u8]>,
) -> ApiResult<ChainKey> {
    Ok(ChainKey {
        credential_id: credential_id.to_vec(),
        public_key: keyward_fido::public_key_of(key)?,
        aaguid,
        attestation_digest: Sha256::digest(attestation.unwrap_or_default()).to_vec(),
    })
}

/// The user's current chain within all their entries: from the last
/// start (an entry at `seq` 0) on.
pub fn current(all: &[ChainEntry]) -> &[ChainEntry] {
    let start = all
        .iter()
        .rposition(|e| e.statement.seq == 0)
        .unwrap_or(all.len());
    all.get(start..).unwrap_or_default()
}

/// The chain as it stood when its head was `head`: the entries of that
/// chain up to and including it. `None` if no entry has that hash.
pub fn up_to<'a>(all: &'a [ChainEntry], head: &str) -> Option<&'a [ChainEntry]> {
    let end = all.iter().position(|e| e.hash == head)?;
    current(all.get(..=end)?).into()
}

/// The chain a stored approval carries: the user's entries up to the head
/// recorded at approval (none if it recorded none, or names no entry).
pub async fn at_approval(db: &crate::db::Db, row: &StepUpRow) -> ApiResult<Vec<ChainEntry>> {
    let Some(head) = &row.chain_head else {
        return Ok(Vec::new());
    };
    let all = key_chain::all(db, row.user_id).await?;
    Ok(up_to(&all, head).map(<[_]>::to_vec).unwrap_or_default())
}

fn nonce() -> Vec<u8> {
    let mut nonce = vec![0; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    nonce
}

/// Starts a chain for the user with `keys` (each a genesis entry, in
/// order). A chain the user had before is named as replaced (`prev` of the
/// first entry), so an exchange that pinned it sees the restart; a first
/// key enrolled while a chain exists can only follow a recovery (the one
/// way an account loses every key), and its genesis says so.
pub async fn start(
    tx: &mut Tx,
    user_id: Uuid,
    keys: Vec<(ChainKey, Option<Vec<u8>>)>,
    now: Millis,
) -> ApiResult<()> {
    let all = key_chain::all_in(tx, user_id).await?;
    let replaced = all.last().map(|e| e.hash.clone());
    for entry in genesis(user_id, keys, replaced, now) {
        key_chain::append(tx, user_id, &entry, now).await?;
    }
    Ok(())
}

/// The genesis entries of a chain with `keys`, in order, the first naming
/// the head of the chain it replaces (if any).
pub fn genesis(
    user_id: Uuid,
    keys: Vec<(ChainKey, Option<Vec<u8>>)>,
    replaced: Option<String>,
    now: Millis,
) -> Vec<ChainEntry> {
    // Only a chain that replaces another follows a recovery.
    let recovered = replaced.is_some();
    let mut prev = replaced;
    let mut entries = Vec::with_capacity(keys.len());
    for (seq, (key, attestation)) in (0u64..).zip(keys) {
        let statement = Statement {
            user: user_id,
            seq,
            prev: prev.take(),
            action: ChainAction::Genesis,
            key,
            at: now / 1000,
            nonce: nonce(),
            recovered: recovered && seq == 0,
        };
        let entry = ChainEntry::new(statement, None, attestation);
        prev = Some(entry.hash.clone());
        entries.push(entry);
    }
    entries
}

/// The statement of the next change of the user's chain (`current`).
pub fn next(
    user_id: Uuid,
    current: &[ChainEntry],
    action: ChainAction,
    key: ChainKey,
    now: Millis,
) -> ApiResult<Statement> {
    let last = current.last().ok_or(ApiError::CeremonyRefused {
        reason: "key_chain_missing",
    })?;
    Ok(Statement {
        user: user_id,
        seq: last.statement.seq + 1,
        prev: Some(last.hash.clone()),
        action,
        key,
        at: now / 1000,
        nonce: nonce(),
        recovered: false,
    })
}

/// The challenge a key signs to endorse `statement`.
pub fn challenge(statement: &Statement) -> [u8; 32] {
    keyward_proof::chain_challenge(&statement.hash())
}

/// Appends `statement`, endorsed by the assertion `done`, inside its
/// transaction (the user row locked): the chain must not have moved since
/// the statement was made (`key_chain_changed`), and the endorsing key must
/// be in it (`key_not_in_chain`: a key Keyward holds that no key of the
/// user's chain endorsed cannot endorse another).
pub async fn endorse(
    app: &AppState,
    done: &mut Asserted,
    statement: Statement,
    attestation: Option<Vec<u8>>,
) -> ApiResult<ChainEntry> {
    let user_id = statement.user;
    crate::store::users::lock(&mut done.tx, user_id).await?;
    let all = key_chain::all_in(&mut done.tx, user_id).await?;
    let current = current(&all);
    if current.last().map(|e| &e.hash) != statement.prev.as_ref() {
        return Err(ApiError::CeremonyRefused {
            reason: "key_chain_changed",
        });
    }
    let state = chain::follow(current, &relying_party(app), None).map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("the stored key chain does not verify: {e}"))
    })?;
    let evidence = keyward_fido::capture(&done.response, &done.key)?;
    if state
        .key(&evidence.credential_id, &evidence.public_key)
        .is_none()
    {
        return Err(ApiError::CeremonyRefused {
            reason: "key_not_in_chain",
        });
    }
    let entry = ChainEntry::new(statement, Some(evidence), attestation);
    key_chain::append(&mut done.tx, user_id, &entry, app.clock.now()).await?;
    Ok(entry)
}

/// A user's current chain, as served to services.
pub async fn of_user(app: &AppState, username: &str) -> ApiResult<keyward_api::keys::KeyChain> {
    let user = crate::store::users::by_name(&app.db, username)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let all = key_chain::all(&app.db, user.id).await?;
    let entries = current(&all).to_vec();
    Ok(keyward_api::keys::KeyChain {
        user_id: user.id,
        head: entries.last().map(|e| e.hash.clone()),
        entries,
    })
}

/// Gives every user who has keys but no chain one: a genesis entry per key,
/// oldest first (keys enrolled before chains existed, or imported). These
/// are trusted on first use like any first key. Run at start-up.
pub async fn adopt_unchained(app: &AppState) -> ApiResult<usize> {
    let users = key_chain::unchained_users(&app.db).await?;
    for &user_id in &users {
        let mut keys = Vec::new();
        for row in credentials::for_user(&app.db, user_id).await? {
            let key = keyward_fido::credential::key_from_json(&row.key_json)
                .map_err(|e| ApiError::Internal(e.into()))?;
            keys.push((record(&row.credential_id, &key, row.aaguid, None)?, None));
        }
        let mut tx = app.db.begin().await?;
        crate::store::users::lock(&mut tx, user_id).await?;
        if key_chain::all_in(&mut tx, user_id).await?.is_empty() {
            start(&mut tx, user_id, keys, app.clock.now()).await?;
        }
        tx.commit().await?;
    }
    Ok(users.len())
}
