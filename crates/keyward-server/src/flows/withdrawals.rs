//! Withdrawal controls: self-freeze and unfreeze, allow-list removal, and
//! the operator's freeze. Each change is audited in its transaction.

use serde_json::json;
use uuid::Uuid;

use crate::clock::Millis;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::extract::Client;
use crate::state::AppState;
use crate::stepup::details::{Canonical, Details};
use crate::store::{audit, controls, users};

/// Freezes the user's own account: one call, no key needed (a user who
/// suspects compromise must be able to stop withdrawals at once).
pub async fn self_freeze(app: &AppState, user_id: Uuid, client: &Client) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if users::set_frozen(&mut tx, user_id, Some(now)).await? {
        let event = audit::Event {
            user_id: Some(user_id),
            event: "account.frozen",
            detail: json!({}),
            ip: Some(&client.ip),
        };
        audit::append(&mut tx, &event, now).await?;
    }
    // A frozen user's API keys stop verifying: drop cached key state everywhere.
    crate::store::api_keys::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    app.verifier.invalidate();
    Ok(())
}

/// Lifts the self-freeze (the caller has checked for a fresh key assertion)
/// and starts a withdrawal hold.
pub async fn self_unfreeze(app: &AppState, user_id: Uuid, client: &Client) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if users::set_frozen(&mut tx, user_id, None).await? {
        users::extend_hold(&mut tx, user_id, now + app.hold_ms(), "unfrozen").await?;
        let detail = json!({ "hold_until": now + app.hold_ms() });
        let event = audit::Event {
            user_id: Some(user_id),
            event: "account.unfrozen",
            detail,
            ip: Some(&client.ip),
        };
        audit::append(&mut tx, &event, now).await?;
    }
    // A frozen user's API keys stop verifying: drop cached key state everywhere.
    crate::store::api_keys::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    app.verifier.invalidate();
    Ok(())
}

/// Refuses an allow-list addition whose address is not one of its
/// network's, or whose network Keyward does not know: before any key touch,
/// so no cooling-off starts for it.
pub fn check_address(app: &AppState, canonical: &Canonical) -> ApiResult<()> {
    let Details::AddressAdd(a) = &canonical.details else {
        return Ok(());
    };
    let Some(network) = app.config.networks.get(&a.network) else {
        let known: Vec<&str> = app.config.networks.keys().map(String::as_str).collect();
        return Err(ApiError::invalid(
            "network",
            format!("unknown network; known: {}", known.join(", ")),
        ));
    };
    network
        .check(&a.address)
        .map_err(|why| ApiError::invalid("address", why))?;
    if a.memo.is_some() && !network.memo {
        return Err(ApiError::invalid("memo", "this network has no memo"));
    }
    Ok(())
}

/// Removes an allow-listed address (tightening: immediate).
pub async fn remove_address(
    app: &AppState,
    user_id: Uuid,
    id: Uuid,
    client: &Client,
) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    // The user row lock first, as a redeem takes it: on PostgreSQL a
    // removal and an in-flight redeem of a withdrawal to this address are
    // then ordered, never both deciding on a stale allow-list.
    users::lock(&mut tx, user_id).await?;
    if !controls::remove_address(&mut tx, user_id, id).await? {
        return Err(ApiError::NotFound("address"));
    }
    let event = audit::Event {
        user_id: Some(user_id),
        event: "address.removed",
        detail: json!({ "address_id": id }),
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets or lifts the operator's emergency freeze, with its audit entry;
/// returns whether it changed. Used by the admin endpoint and the CLI.
pub async fn set_global_freeze(
    db: &Db,
    now: Millis,
    frozen: bool,
    reason: Option<&str>,
    by: &str,
    ip: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = controls::set_global_freeze(&mut tx, frozen, reason, now).await?;
    if changed {
        let name = if frozen {
            "withdrawals.frozen"
        } else {
            "withdrawals.unfrozen"
        };
        let event = audit::Event {
            user_id: None,
            event: name,
            detail: json!({ "reason": reason, "by": by }),
            ip,
        };
        audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    Ok(changed)
}
