//! Approval-token signing keys: generated at first start, shared by all
//! instances through the database — sealed under the operator's
//! key-encryption key ([`crate::kek`]), so the database alone holds no
//! usable private key — rotated by the operator, published as a JWKS.
//!
//! Only a key that opens under the KEK signs or is published: a row someone
//! wrote into the database (a key of their own, in clear or sealed under
//! another KEK) is never used, and its public key never reaches the JWKS. If
//! no key opens nothing is approved (fail closed).

use keyward_access::approval::{self, ApprovalClaims, SigningKey};
use keyward_api::operations::Jwks;
use secrecy::ExposeSecret;

use crate::clock::Millis;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::kek::Kek;
use crate::state::AppState;
use crate::store::signing_keys::{self, SigningKeyRow};

/// Retired keys stay published this long, so tokens they signed still verify.
const RETIRED_PUBLISHED_MS: Millis = 24 * 3_600_000;

fn row_for(kek: &Kek, key: &SigningKey, now: Millis) -> anyhow::Result<SigningKeyRow> {
    let der = key.to_pkcs8_der()?;
    Ok(SigningKeyRow {
        kid: key.kid.clone(),
        private_key: kek.seal(&key.kid, der.expose_secret())?,
        public_jwk: key.public_jwk().to_string(),
        created_at: now,
        retired_at: None,
    })
}

/// The key of `row`, if it opens under `kek`.
fn open(kek: &Kek, row: &SigningKeyRow) -> Option<SigningKey> {
    let der = kek.open(&row.kid, &row.private_key).ok()?;
    SigningKey::from_pkcs8_der(&row.kid, der.expose_secret()).ok()
}

/// Makes sure a sealed signing key signs (first start, or the first start
/// after keys were stored in clear: those are retired and wiped — their
/// tokens then no longer verify, which lasts at most an approval's life).
pub async fn ensure_key(db: &Db, kek: &Kek, now: Millis) -> anyhow::Result<()> {
    let wiped = signing_keys::retire_clear(db, now).await?;
    if wiped > 0 {
        tracing::warn!(wiped, "signing keys stored in clear were retired and wiped");
    }
    let usable = signing_keys::unretired(db)
        .await?
        .iter()
        .any(|row| open(kek, row).is_some());
    if !usable {
        let unopened = signing_keys::unretired(db).await?.len();
        if unopened > 0 {
            // Keys exist but this KEK opens none: another instance's KEK, or
            // rows someone wrote. Say so; rotate rather than guess.
            anyhow::bail!(
                "no signing key opens under this instance's KEK ({unopened} unretired key(s) \
                 sealed under another): give every instance the same signing.kek / \
                 signing.kek_file, or run `keyward signing-key rotate` with the right one"
            );
        }
        signing_keys::insert_if_none(db, &row_for(kek, &SigningKey::generate(), now)?).await?;
    }
    Ok(())
}

/// Generates a new key, which signs from now on; the old one is retired but
/// stays published for a day. Returns the new `kid`.
pub async fn rotate(db: &Db, kek: &Kek, now: Millis) -> anyhow::Result<String> {
    let key = SigningKey::generate();
    signing_keys::rotate(db, &row_for(kek, &key, now)?).await?;
    Ok(key.kid)
}

/// The active signing key: the newest unretired key that opens under the
/// KEK. Load it before opening a transaction that will need it: reading it
/// from the pool while a SQLite write transaction is held can wait for a
/// connection that the queued writers hold.
pub async fn active(app: &AppState) -> ApiResult<SigningKey> {
    signing_keys::unretired(&app.db)
        .await?
        .iter()
        .find_map(|row| open(&app.kek, row))
        .ok_or_else(|| ApiError::Unavailable(anyhow::anyhow!("no signing key opens")))
}

/// Signs approval claims with `key` (from [`active`]).
pub fn sign_with(key: &SigningKey, claims: &ApprovalClaims) -> ApiResult<String> {
    approval::sign(key, claims).map_err(|e| ApiError::Unavailable(e.into()))
}

/// The JWKS document: the public halves of the keys that open under the
/// KEK (computed from them, not read from the stored JWK).
pub async fn jwks(app: &AppState) -> ApiResult<Jwks> {
    let rows = signing_keys::published(&app.db, app.clock.now() - RETIRED_PUBLISHED_MS).await?;
    let keys = rows
        .iter()
        .filter_map(|row| open(&app.kek, row))
        .filter_map(|key| serde_json::from_value(key.public_jwk()).ok())
        .collect();
    Ok(Jwks { keys })
}
