//! The gateway's hot path: verifying a presented API key (and a service's
//! bearer key). Malformed keys are refused by their checksum without a
//! database query; known keys come from the instance's cache (`verifier`).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use keyward_access::token::{self, TokenKind};
use std::str::FromStr;

use keyward_api::api_keys::{ApiKeyRefusal as Refusal, ApiKeyScope, VerifiedKey, VerifyApiKey};
use uuid::Uuid;

use crate::clock::{Millis, rfc3339};
use crate::domain::ValidationError;
use crate::domain::audit::{AuditEvent, KeyUse};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::service_keys::ServiceKeyRow;
use crate::store::{api_keys, audit, users};
use crate::verifier::CachedKey;

/// The unrevoked service key with this token hash, cached like API keys:
/// a revocation (which bumps the shared epoch) empties the cache on every
/// instance within the poll interval.
pub async fn service_key(
    app: &AppState,
    hash: &token::TokenHash,
) -> ApiResult<Option<Arc<ServiceKeyRow>>> {
    let v = &app.verifier;
    if let Some(hit) = v.services.get(hash.as_bytes()) {
        return Ok(Some(hit));
    }
    let generation = v.generation.load(Ordering::SeqCst);
    let Some(row) = crate::store::service_keys::by_hash(&app.db, hash.as_bytes()).await? else {
        return Ok(None);
    };
    let row = Arc::new(row);
    let _guard = v
        .clearing
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if v.generation.load(Ordering::SeqCst) == generation {
        v.services.insert(*hash.as_bytes(), row.clone());
    }
    Ok(Some(row))
}

/// Why withdrawals of `user_id` are paused at `now`, if they are: the
/// operator's freeze, the owner's freeze or lock, or a hold.
async fn withdraw_paused(app: &AppState, user_id: Uuid, now: Millis) -> ApiResult<Option<Refusal>> {
    let (global, _, _) = crate::store::withdrawal_controls::global_freeze_now(&app.db).await?;
    if global {
        return Ok(Some(Refusal::WithdrawalsFrozen));
    }
    let Some(policy) = users::policy_now(&app.db, user_id).await? else {
        return Ok(Some(Refusal::Unknown));
    };
    if policy.stopped() {
        return Ok(Some(Refusal::UserFrozen));
    }
    Ok(policy
        .hold_until
        .filter(|&t| t > now)
        .map(|_| Refusal::Held))
}

/// A successful verification.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The key.
    pub key: Arc<CachedKey>,
}

async fn load(app: &AppState, hash: &token::TokenHash) -> ApiResult<Option<Arc<CachedKey>>> {
    if let Some(hit) = app.verifier.cache.get(hash.as_bytes()) {
        return Ok(Some(hit));
    }
    let generation = app.verifier.generation.load(Ordering::SeqCst);
    app.verifier.lookups.fetch_add(1, Ordering::Relaxed);
    let Some(row) = api_keys::by_hash(&app.db, hash.as_bytes()).await? else {
        return Ok(None);
    };
    let frozen = users::policy_now(&app.db, row.user_id)
        .await?
        .is_some_and(|p| p.stopped());
    let ips: Vec<String> =
        serde_json::from_str(&row.ip_allowlist).map_err(|e| ApiError::Internal(e.into()))?;
    let mut networks = Vec::new();
    for ip in &ips {
        let net = crate::domain::ip::ip_network(ip)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored IP entry unparseable")))?;
        networks.push(net);
    }
    let key = Arc::new(CachedKey {
        id: row.id,
        user_id: row.user_id,
        prefix: row.prefix,
        scopes: row.scopes.split(' ').map(str::to_owned).collect(),
        networks,
        expires_at: row.expires_at,
        revoked: row.revoked_at.is_some(),
        user_frozen: frozen,
    });
    app.verifier
        .insert_if_current(*hash.as_bytes(), key.clone(), generation);
    Ok(Some(key))
}

/// Checks a presented key for `scope` from `client_ip`.
///
/// Failures are limited per client IP (every failure) and per key prefix
/// (well-formed tokens only: a typo or a made-up string says nothing about
/// the key whose prefix it shows). A blocked prefix never refuses the
/// genuine key: anyone can write a live key's public prefix in front of
/// wrong secrets, so such a block only hides why other tokens fail.
pub async fn verify(
    app: &AppState,
    presented: &str,
    scope: &str,
    client_ip: IpAddr,
) -> ApiResult<Result<Verified, (Refusal, Option<Arc<CachedKey>>)>> {
    let ip_scope = crate::flows::throttle::ip_scope(&client_ip.to_string());
    if let Some(retry_after) = app.verifier.blocked_for(std::slice::from_ref(&ip_scope)) {
        crate::metrics::throttled("api_key");
        return Err(ApiError::Throttled { retry_after });
    }
    let presented = presented.trim();
    let Ok(hash) = token::parse(TokenKind::ApiKey, presented) else {
        app.verifier.record_failure(&ip_scope, None);
        return Ok(Err((Refusal::Malformed, None)));
    };
    let prefix_scope = presented
        .get(..TokenKind::ApiKey.prefix().len() + token::DISPLAY_LEN)
        .map(|p| format!("prefix:{p}"));
    let refuse = |r: Refusal, key: Option<Arc<CachedKey>>| {
        let blocked = prefix_scope
            .as_ref()
            .and_then(|p| app.verifier.blocked_for(std::slice::from_ref(p)));
        app.verifier
            .record_failure(&ip_scope, prefix_scope.as_deref());
        match blocked {
            Some(retry_after) => {
                crate::metrics::throttled("api_key");
                Err(ApiError::Throttled { retry_after })
            }
            None => Ok(Err((r, key))),
        }
    };
    let Some(key) = load(app, &hash).await? else {
        return refuse(Refusal::Unknown, None);
    };
    let now = app.clock.now();
    let refusal = if key.revoked {
        Some(Refusal::Revoked)
    } else if key.expires_at.is_some_and(|t| t <= now) {
        Some(Refusal::Expired)
    } else if key.user_frozen {
        Some(Refusal::UserFrozen)
    } else if !key.scopes.iter().any(|s| s == scope) {
        Some(Refusal::ScopeNotGranted)
    } else if !key.networks.is_empty() && !key.networks.iter().any(|n| n.contains(&client_ip)) {
        Some(Refusal::IpNotAllowed)
    } else {
        None
    };
    if let Some(r) = refusal {
        return refuse(r, Some(key));
    }
    // A withdraw-scoped key moves money: the withdrawal policy in force
    // right now applies, read fresh (never from the cache). Not counted as
    // a failure: the key is genuine, the account is paused.
    if scope == "withdraw"
        && let Some(r) = withdraw_paused(app, key.user_id, now).await?
    {
        return Ok(Err((r, Some(key))));
    }
    if let Ok(mut uses) = app.verifier.last_used.lock() {
        uses.insert(key.id, now);
    }
    Ok(Ok(Verified { key }))
}

/// The scope and client address of a gateway's question, checked.
pub fn checked_ip(body: &VerifyApiKey) -> Result<IpAddr, ValidationError> {
    if ApiKeyScope::from_str(&body.scope).is_err() {
        return Err(ValidationError::new(
            "scope",
            "must be read, trade or withdraw",
        ));
    }
    body.client_ip
        .trim()
        .parse()
        .map_err(|_| ValidationError::new("client_ip", "must be an IPv4 or IPv6 address"))
}

/// Answers a gateway: is this key good for this scope from this address?
/// A use for `withdraw`, an address off the allow-list and an expired key
/// are audited on the owner's account.
pub async fn for_gateway(app: &AppState, body: &VerifyApiKey) -> ApiResult<VerifiedKey> {
    let ip = checked_ip(body)?;
    let key_use = |k: &CachedKey, scope: Option<&str>| KeyUse {
        key_id: k.id,
        prefix: k.prefix.clone(),
        client_ip: ip.to_string(),
        scope: scope.map(str::to_owned),
    };
    let (result, event) = match verify(app, &body.key, &body.scope, ip).await? {
        Ok(Verified { key }) => {
            let event = (body.scope == "withdraw").then(|| {
                (
                    key.user_id,
                    AuditEvent::ApiKeyUsedForWithdrawal(key_use(&key, None)),
                )
            });
            let verified = VerifiedKey {
                user_id: key.user_id,
                key_id: key.id,
                scopes: key.scopes.clone(),
                expires_at: key.expires_at.map(rfc3339),
            };
            (Ok(verified), event)
        }
        Err((refusal, key)) => {
            let event = key.as_deref().and_then(|k| {
                let used = key_use(k, Some(&body.scope));
                match refusal {
                    Refusal::IpNotAllowed => Some((k.user_id, AuditEvent::ApiKeyRefusedIp(used))),
                    Refusal::Expired => Some((k.user_id, AuditEvent::ApiKeyExpired(used))),
                    _ => None,
                }
            });
            (Err(ApiError::ApiKeyRefused(refusal)), event)
        }
    };
    if let Some((user_id, event)) = event {
        let e = audit::Event {
            user_id: Some(user_id),
            event,
            ip: Some(&body.client_ip),
        };
        audit::append_alone(&app.db, &e, app.clock.now()).await?;
    }
    result
}
