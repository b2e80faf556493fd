//! Approval-token signing keys: generated at first start, shared by all
//! instances through the database, rotated by the operator; published as a
//! JWKS. If no key can be loaded nothing is approved (fail closed).

use keyward_access::approval::{self, ApprovalClaims, SigningKey};
use keyward_api::operations::Jwks;

use crate::clock::Millis;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::signing_keys::{self, SigningKeyRow};

/// Retired keys stay published this long, so tokens they signed still verify.
const RETIRED_PUBLISHED_MS: Millis = 24 * 3_600_000;

fn row_for(key: &SigningKey, now: Millis) -> anyhow::Result<SigningKeyRow> {
    let der = key.to_pkcs8_der()?;
    Ok(SigningKeyRow {
        kid: key.kid.clone(),
        private_key: secrecy::ExposeSecret::expose_secret(&der).clone(),
        public_jwk: key.public_jwk().to_string(),
        created_at: now,
        retired_at: None,
    })
}

/// Makes sure a signing key exists (first start).
pub async fn ensure_key(db: &Db, now: Millis) -> anyhow::Result<()> {
    if signing_keys::active(db).await?.is_none() {
        signing_keys::insert_if_none(db, &row_for(&SigningKey::generate(), now)?).await?;
    }
    Ok(())
}

/// Generates a new key, which signs from now on; the old one is retired but
/// stays published for a day. Returns the new `kid`.
pub async fn rotate(db: &Db, now: Millis) -> anyhow::Result<String> {
    let key = SigningKey::generate();
    signing_keys::rotate(db, &row_for(&key, now)?).await?;
    Ok(key.kid)
}

/// The active signing key. Load it before opening a transaction that will
/// need it: reading it from the pool while a SQLite write transaction is
/// held can wait for a connection that the queued writers hold.
pub async fn active(app: &AppState) -> ApiResult<SigningKey> {
    let row = signing_keys::active(&app.db)
        .await?
        .ok_or_else(|| ApiError::Unavailable(anyhow::anyhow!("no signing key")))?;
    SigningKey::from_pkcs8_der(&row.kid, &row.private_key)
        .map_err(|e| ApiError::Unavailable(e.into()))
}

/// Signs approval claims with `key` (from [`active`]).
pub fn sign_with(key: &SigningKey, claims: &ApprovalClaims) -> ApiResult<String> {
    approval::sign(key, claims).map_err(|e| ApiError::Unavailable(e.into()))
}

/// The JWKS document: public keys only.
pub async fn jwks(app: &AppState) -> ApiResult<Jwks> {
    let rows = signing_keys::published(&app.db, app.clock.now() - RETIRED_PUBLISHED_MS).await?;
    let keys = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.public_jwk).ok())
        .collect();
    Ok(Jwks { keys })
}
