//! User API keys: requested with an `api_key.create` step-up, created by
//! redeeming that approval with exactly the approved details (so the user
//! approves exactly what is created), listed, revoked. The secret is shown
//! once; only its hash is stored.

pub mod verify;

use keyward_api::api_keys::{ApiKey, ApiKeyList};
use keyward_api::{PolicyReason, StepUpStatus};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::caller::Client;
use crate::clock::rfc3339;
use crate::domain::audit::{AuditEvent, Revoked};
use crate::domain::details::{Canonical, Details, canonicalise};
use crate::domain::ip::ip_network;
use crate::domain::policy::{self, AccountFacts, Decision};
use crate::error::{ApiError, ApiResult};
use crate::flows::step_ups as step_up_flow;
use crate::state::AppState;
use crate::store::api_keys::{self, ApiKeyRow};
use crate::store::step_ups::{self, StepUpRow};
use crate::store::{audit, users};

/// The key the server will create for `details`: allow-list entries no
/// wider than the configured prefixes, and a lifetime no longer than the
/// limit (30 days without an allow-list, a year with one, by default) —
/// set in the details, so the user approves the expiry the key will have.
/// A pure function of the details and the config: the request and the
/// creation give the same digest.
pub fn effective(app: &AppState, details: &Value) -> ApiResult<Canonical> {
    let canonical = canonicalise("api_key.create", details, &app.config.assets)?;
    let Details::ApiKeyCreate(spec) = &canonical.details else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "api_key.create without key details"
        )));
    };
    let cfg = &app.config.api_keys;
    for entry in &spec.ip_allowlist {
        let net = ip_network(entry)
            .ok_or_else(|| ApiError::invalid("ip_allowlist", "not an address or network"))?;
        let (min, family) = match net {
            ipnet::IpNet::V4(_) => (cfg.min_prefix_v4, "IPv4"),
            ipnet::IpNet::V6(_) => (cfg.min_prefix_v6, "IPv6"),
        };
        if net.prefix_len() < min {
            return Err(ApiError::invalid(
                "ip_allowlist",
                format!("{entry} is too wide: {family} networks may be /{min} or narrower"),
            ));
        }
    }
    let limit = if spec.ip_allowlist.is_empty() {
        cfg.max_days_without_ip
    } else {
        cfg.max_days
    };
    let days = spec.expires_in_days.unwrap_or(limit).min(limit);
    if spec.expires_in_days == Some(days) {
        return Ok(canonical);
    }
    let mut clamped = details.clone();
    clamped["expires_in_days"] = json!(days);
    Ok(canonicalise(
        "api_key.create",
        &clamped,
        &app.config.assets,
    )?)
}

/// Creates the `api_key.create` step-up the user must approve.
pub async fn request(
    app: &AppState,
    user_id: Uuid,
    details: &Value,
    client: &Client,
) -> ApiResult<StepUpRow> {
    let canonical = effective(app, details)?;
    step_up_flow::create_for_user(app, user_id, &canonical, &client.ip).await
}

/// A created key and its secret (shown once).
pub struct Created {
    /// The stored key.
    pub key: ApiKeyRow,
    /// The secret.
    pub secret: secrecy::SecretString,
}

/// Creates a key by redeeming the user's approved `api_key.create` step-up.
/// The request's details must canonicalise to the approved digest.
pub async fn create(
    app: &AppState,
    user_id: Uuid,
    step_up_id: Uuid,
    details: &Value,
    client: &Client,
) -> ApiResult<Created> {
    let canonical = effective(app, details)?;
    let Details::ApiKeyCreate(spec) = &canonical.details else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "api_key.create without key details"
        )));
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let user = users::lock_with_policy(&mut tx, user_id).await?;
    let row = step_ups::get_in(&mut tx, step_up_id)
        .await?
        .filter(|r| r.user_id == user_id && r.action == "api_key.create");
    let row = row.ok_or(ApiError::NotFound("step-up"))?;
    match row.status() {
        StepUpStatus::Approved => {}
        StepUpStatus::Redeemed => return Err(ApiError::AlreadyRedeemed),
        other => return Err(ApiError::NotApproved(other.as_str().into())),
    }
    if row.approval_expires_at.is_none_or(|t| t <= now) {
        return Err(ApiError::ApprovalExpired);
    }
    if row.digest != canonical.digest_hex() {
        return Err(ApiError::StepUpMismatch);
    }
    let user = user.ok_or(ApiError::Unauthenticated)?;
    let account = AccountFacts {
        user_frozen: user.stopped(),
        ..AccountFacts::default()
    };
    if let Decision::Denied { reason } = policy::decide(canonical.action, &account, None, now) {
        return Err(ApiError::PolicyRefused { reason });
    }
    let cfg = &app.config.api_keys;
    if api_keys::count_live(&mut tx, user_id, now).await? >= cfg.max_per_user {
        return Err(ApiError::TooManyApiKeys(cfg.max_per_user));
    }
    // `effective` set the lifetime the user approved; every key expires.
    let days = spec.expires_in_days.unwrap_or(cfg.max_days_without_ip);
    let expires_at = Some(now + i64::from(days) * 86_400_000);
    if step_ups::redeem(&mut tx, step_up_id, now, user_id)
        .await?
        .is_none()
    {
        return Err(ApiError::AlreadyRedeemed);
    }
    let token = keyward_access::token::generate(keyward_access::token::TokenKind::ApiKey);
    let key = ApiKeyRow {
        id: Uuid::new_v4(),
        user_id,
        label: spec.label.clone(),
        prefix: token.prefix.clone(),
        scopes: spec.scopes.join(" "),
        ip_allowlist: serde_json::to_string(&spec.ip_allowlist)
            .map_err(|e| ApiError::Internal(e.into()))?,
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
        step_up_id,
    };
    api_keys::insert(&mut tx, &key, token.hash.as_bytes()).await?;
    if spec.scopes.iter().any(|s| s == "withdraw") {
        // A key that moves money loosens: held for the usual hold or the
        // user's security lock, whichever is longer.
        let until = user.loosening_until(now, app.hold_ms());
        users::security_changed(&mut tx, user_id, now, until, PolicyReason::ApiKeyWithdraw).await?;
    }
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::ApiKeyCreated {
            key_id: key.id,
            label: key.label.clone(),
            prefix: key.prefix.clone(),
            scopes: spec.scopes.clone(),
            ip_allowlist: spec.ip_allowlist.clone(),
            expires_at,
            step_up_id,
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Created {
        key,
        secret: token.plaintext,
    })
}

/// The API view of a key (never the secret).
pub fn view(k: &ApiKeyRow) -> ApiKey {
    ApiKey {
        id: k.id,
        label: k.label.clone(),
        prefix: k.prefix.clone(),
        scopes: k.scopes.split(' ').map(str::to_owned).collect(),
        ip_allowlist: serde_json::from_str(&k.ip_allowlist).unwrap_or_default(),
        created_at: rfc3339(k.created_at),
        expires_at: k.expires_at.map(rfc3339),
        last_used_at: k.last_used_at.map(rfc3339),
        revoked_at: k.revoked_at.map(rfc3339),
    }
}

/// The user's API keys, live and revoked (never a secret).
pub async fn list(app: &AppState, user_id: Uuid) -> ApiResult<ApiKeyList> {
    let keys = api_keys::for_user(&app.db, user_id).await?;
    let api_keys = keys.iter().map(view).collect();
    Ok(ApiKeyList { api_keys })
}

/// Revokes one key (`Some`) or all (`None`) of the user's keys, at once here
/// and within a second on every instance. Returns how many.
pub async fn revoke(
    app: &AppState,
    user_id: Uuid,
    id: Option<Uuid>,
    client: &Client,
) -> ApiResult<u64> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (count, revoked) = match id {
        Some(key_id) => {
            let (prefix, label) = api_keys::revoke(&mut tx, user_id, key_id, now)
                .await?
                .ok_or(ApiError::NotFound("api key"))?;
            (
                1,
                Revoked::One {
                    key_id,
                    prefix,
                    label,
                },
            )
        }
        None => {
            let count = api_keys::revoke_all(&mut tx, user_id, now).await?;
            (count, Revoked::All { all: true, count })
        }
    };
    api_keys::bump_epoch(&mut tx).await?;
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::ApiKeyRevoked(revoked),
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    app.verifier.invalidate();
    Ok(count)
}

/// Removes and returns the `step_up_id` member of an API-key creation body;
/// the rest are the details to create.
pub fn take_step_up_id(body: &mut Value) -> ApiResult<Uuid> {
    body.as_object_mut()
        .and_then(|o| o.remove("step_up_id"))
        .and_then(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
        .ok_or_else(|| {
            ApiError::invalid(
                "step_up_id",
                "the id of the approved api_key.create step-up is required",
            )
        })
}
