//! Approval-token signing keys: generated at first start, shared by all
//! instances through the database, rotated by the operator, published as a
//! JWKS. The private halves never sit in the database in clear: they are
//! sealed under the operator's key-encryption key ([`crate::kek`]), or kept
//! in a PKCS#11 token ([`crate::hsm`]) that signs for Keyward.
//!
//! Only a key that opens under the KEK, or that the token holds, signs or is
//! published: a row someone wrote into the database (a key of their own, in
//! clear or sealed under another KEK) is never used, and its public key
//! never reaches the JWKS. If no key is usable nothing is approved (fail
//! closed).

use keyward_access::approval::{self, ApprovalClaims};
use keyward_api::operations::Jwks;

use crate::clock::Millis;
pub use crate::custody::{Custody, Signer};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::signing_keys;

/// Retired keys stay published this long, so tokens they signed still verify.
const RETIRED_PUBLISHED_MS: Millis = 24 * 3_600_000;

/// Makes sure a usable key signs: at first start, after keys were stored in
/// clear (those are retired and wiped — their tokens then no longer
/// verify, which lasts at most an approval's life), and when a token is
/// configured but no key is in it yet (a token key then replaces the
/// sealed one).
pub async fn ensure_key(db: &Db, custody: &Custody, now: Millis) -> anyhow::Result<()> {
    let wiped = signing_keys::retire_clear(db, now).await?;
    if wiped > 0 {
        tracing::warn!(wiped, "signing keys stored in clear were retired and wiped");
    }
    let unretired = signing_keys::unretired(db).await?;
    let usable: Vec<Signer> = unretired.iter().filter_map(|r| custody.open(r)).collect();
    if custody.uses_token() {
        if !usable.iter().any(|s| matches!(s, Signer::Token { .. })) {
            let kid = rotate(db, custody, now).await?;
            tracing::info!(%kid, "new signing key generated in the PKCS#11 token");
        }
        return Ok(());
    }
    if usable.is_empty() {
        if !unretired.is_empty() {
            // Keys exist but none opens: another instance's KEK, or rows
            // someone wrote. Say so; rotate rather than guess.
            anyhow::bail!(
                "no signing key opens under this instance's KEK ({} unretired key(s) kept \
                 elsewhere): give every instance the same signing.kek / signing.kek_file (and \
                 token), or run `keyward signing-key rotate` with the right one",
                unretired.len()
            );
        }
        signing_keys::insert_if_none(db, &custody.generate(now)?).await?;
    }
    Ok(())
}

/// Generates a new key, which signs from now on; the old one is retired but
/// stays published for a day. Returns the new `kid`.
pub async fn rotate(db: &Db, custody: &Custody, now: Millis) -> anyhow::Result<String> {
    let row = custody.generate(now)?;
    signing_keys::rotate(db, &row).await?;
    Ok(row.kid)
}

/// The active signing key: the newest unretired key usable here. Load it
/// before opening a transaction that will need it: reading it from the pool
/// while a SQLite write transaction is held can wait for a connection that
/// the queued writers hold.
pub async fn active(app: &AppState) -> ApiResult<Signer> {
    active_in(&app.db, &app.custody).await
}

/// [`active`] for the command line (no app state).
pub async fn active_in(db: &Db, custody: &Custody) -> ApiResult<Signer> {
    signing_keys::unretired(db)
        .await?
        .iter()
        .find_map(|row| custody.open(row))
        .ok_or_else(|| ApiError::Unavailable(anyhow::anyhow!("no usable signing key")))
}

/// Signs any JSON payload (an audit checkpoint) with `signer`.
pub fn sign_payload(signer: &Signer, payload: &impl serde::Serialize) -> ApiResult<String> {
    let signed = match signer {
        Signer::Sealed(key) => approval::sign_payload_with(key, payload),
        Signer::Token { kid, hsm, .. } => {
            approval::sign_payload(kid, payload, |input| hsm.sign(kid, input))
        }
    };
    signed.map_err(|e| ApiError::Unavailable(e.into()))
}

/// Signs a Security Event Token's claims with `signer` (`typ`
/// `secevent+jwt`, so it can never pass for an approval token).
pub fn sign_event(signer: &Signer, claims: &impl serde::Serialize) -> ApiResult<String> {
    let signed = match signer {
        Signer::Sealed(key) => approval::sign_event_with(key, claims),
        Signer::Token { kid, hsm, .. } => {
            approval::sign_event(kid, claims, |input| hsm.sign(kid, input))
        }
    };
    signed.map_err(|e| ApiError::Unavailable(e.into()))
}

/// Every key usable here, retired or not, as a JWKS: what a checkpoint
/// signed any time may be checked against (never the stored JWKs, which
/// anyone writing the database could add to).
pub async fn all_usable_keys(db: &Db, custody: &Custody) -> anyhow::Result<serde_json::Value> {
    let keys: Vec<serde_json::Value> = signing_keys::list(db)
        .await?
        .iter()
        .filter_map(|row| custody.open(row))
        .map(|signer| signer.public_jwk())
        .collect();
    Ok(serde_json::json!({ "keys": keys }))
}

/// Signs approval claims with `signer` (from [`active`]).
pub fn sign_with(signer: &Signer, claims: &ApprovalClaims) -> ApiResult<String> {
    let signed = match signer {
        Signer::Sealed(key) => approval::sign(key, claims),
        Signer::Token { kid, hsm, .. } => {
            approval::sign_by(kid, claims, |input| hsm.sign(kid, input))
        }
    };
    signed.map_err(|e| ApiError::Unavailable(e.into()))
}

/// The JWKS document: the public halves of the keys usable here (computed
/// from the keys themselves, not read from the stored JWK).
pub async fn jwks(app: &AppState) -> ApiResult<Jwks> {
    let rows = signing_keys::published(&app.db, app.clock.now() - RETIRED_PUBLISHED_MS).await?;
    let keys = rows
        .iter()
        .filter_map(|row| app.custody.open(row))
        .filter_map(|signer| serde_json::from_value(signer.public_jwk()).ok())
        .collect();
    Ok(Jwks { keys })
}
