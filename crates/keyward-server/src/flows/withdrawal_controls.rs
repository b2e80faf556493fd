//! Withdrawal controls: self-freeze and unfreeze, allow-list removal, and
//! the operator's freeze. Each change is audited in its transaction.

use keyward_api::PolicyReason;
use keyward_api::withdrawals::{Address, AddressList, GlobalFreeze, NewAddress, WithdrawalStatus};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::caller::Client;
use crate::clock::{Millis, rfc3339};
use crate::db::Db;
use crate::domain::audit::AuditEvent;
use crate::domain::details::{Action, Canonical, Details, canonicalise};
use crate::error::{ApiError, ApiResult};
use crate::flows::step_ups;
use crate::state::AppState;
use crate::store::step_ups::StepUpRow;
use crate::store::{audit, users, withdrawal_controls};

/// Freezes the user's own account: one call, no key needed (a user who
/// suspects compromise must be able to stop withdrawals at once).
pub async fn self_freeze(app: &AppState, user_id: Uuid, client: &Client) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if users::set_frozen(&mut tx, user_id, Some(now)).await? {
        let event = audit::Event {
            user_id: Some(user_id),
            event: AuditEvent::AccountFrozen {},
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
/// and starts a withdrawal hold — as long as the user's security lock, if
/// that is longer: unfreezing loosens.
pub async fn self_unfreeze(app: &AppState, user_id: Uuid, client: &Client) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let policy = users::lock_with_policy(&mut tx, user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let hold_until = policy.loosening_until(now, app.hold_ms());
    if users::set_frozen(&mut tx, user_id, None).await? {
        users::security_changed(&mut tx, user_id, now, hold_until, PolicyReason::Unfrozen).await?;
        let event = audit::Event {
            user_id: Some(user_id),
            event: AuditEvent::AccountUnfrozen { hold_until },
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
    let Some((network, address, label)) =
        withdrawal_controls::remove_address(&mut tx, user_id, id).await?
    else {
        return Err(ApiError::NotFound("address"));
    };
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::AddressRemoved {
            address_id: id,
            network,
            address,
            label,
        },
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
    let changed = withdrawal_controls::set_global_freeze(&mut tx, frozen, reason, now).await?;
    if changed {
        let (reason, by) = (reason.map(str::to_owned), by.to_owned());
        let event = audit::Event {
            user_id: None,
            event: if frozen {
                AuditEvent::WithdrawalsFrozen { reason, by }
            } else {
                AuditEvent::WithdrawalsUnfrozen { reason, by }
            },
            ip,
        };
        audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The user's withdrawal state: frozen, and any hold in force.
pub async fn status(app: &AppState, user_id: Uuid) -> ApiResult<WithdrawalStatus> {
    let policy = users::policy_now(&app.db, user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let hold = policy.hold_until.filter(|t| *t > app.clock.now());
    Ok(WithdrawalStatus {
        frozen: policy.frozen_at.is_some(),
        frozen_at: policy.frozen_at.map(rfc3339),
        held_until: hold.map(rfc3339),
        hold_reason: hold.and(policy.hold_reason.as_deref().map(PolicyReason::parse)),
    })
}

/// The user's allow-list.
pub async fn addresses(app: &AppState, user_id: Uuid) -> ApiResult<AddressList> {
    let now = app.clock.now();
    let rows = withdrawal_controls::addresses(&app.db, user_id).await?;
    let addresses = rows
        .into_iter()
        .map(|a| Address {
            id: a.id,
            network: a.network,
            address: a.address,
            memo: a.memo,
            label: a.label,
            created_at: rfc3339(a.created_at),
            usable_from: rfc3339(a.usable_from),
            usable: a.usable_from <= now,
        })
        .collect();
    Ok(AddressList { addresses })
}

/// The `address.add` details of a new allow-list entry.
pub fn address_details(body: &NewAddress) -> Value {
    let mut d = json!({ "network": body.network, "address": body.address, "label": body.label });
    if let Some(memo) = &body.memo {
        d["memo"] = json!(memo);
    }
    d
}

/// Asks for an allow-list addition: the `address.add` step-up the user
/// approves with a key (refused at once if the policy would not allow it).
pub async fn request_address(
    app: &AppState,
    user_id: Uuid,
    body: &NewAddress,
    client: &Client,
) -> ApiResult<StepUpRow> {
    let details = address_details(body);
    let canonical = canonicalise(Action::AddressAdd.as_str(), &details, &app.config.assets)?;
    check_address(app, &canonical)?;
    step_ups::create_for_user(app, user_id, &canonical, &client.ip).await
}

/// The operator's freeze as it stands.
pub async fn global_status(db: &Db) -> ApiResult<GlobalFreeze> {
    let (frozen, reason, changed_at) = withdrawal_controls::global_freeze_now(db).await?;
    Ok(GlobalFreeze {
        frozen,
        reason,
        changed_at: rfc3339(changed_at),
    })
}
