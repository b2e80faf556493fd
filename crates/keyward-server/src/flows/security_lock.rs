//! The user's security lock (`domain::security_lock`): setting it (a fresh
//! key touch: a session thief cannot lengthen it to stall the owner, nor
//! shorten it), cancelling a waiting shortening, and the key removals it
//! delays. The other loosening changes it delays — a new allow-list
//! address, a withdraw-scoped API key, unfreezing — take the lock into
//! account where they are made (`PolicyRow::loosening_until`).

use keyward_api::security_lock::{PendingLock, ScheduledRemoval, SecurityLockView};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::caller::Client;
use crate::clock::{Millis, rfc3339};
use crate::db::Tx;
use crate::domain::audit::AuditEvent;
use crate::domain::security_lock::{MAX_DAYS, SecurityLock, Set};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::credentials::{self, CredentialRow};
use crate::store::users::PolicyRow;
use crate::store::{audit, users};

/// The user's lock as it stands.
pub async fn view(app: &AppState, user_id: Uuid) -> ApiResult<SecurityLockView> {
    let lock = stored(app, user_id).await?;
    Ok(shown(lock, app.clock.now()))
}

fn shown(lock: SecurityLock, now: Millis) -> SecurityLockView {
    let lock = lock.at(now);
    SecurityLockView {
        days: lock.days,
        pending: lock.next.map(|(days, from)| PendingLock {
            days,
            from: rfc3339(from),
        }),
        loosening_from: rfc3339(lock.loosening_from(now)),
        max_days: MAX_DAYS,
    }
}

/// The user's lock as stored.
pub async fn stored(app: &AppState, user_id: Uuid) -> ApiResult<SecurityLock> {
    Ok(users::policy_now(&app.db, user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?
        .security_lock())
}

/// Asks for a lock of `days`: longer is at once, shorter waits for the
/// lock in force to pass. Needs a fresh key touch.
pub async fn set(
    app: &AppState,
    who: &SignedIn,
    days: u32,
    client: &Client,
) -> ApiResult<SecurityLockView> {
    if days > MAX_DAYS {
        return Err(ApiError::invalid(
            "days",
            format!("choose from 0 (no lock) to {MAX_DAYS} days"),
        ));
    }
    who.require_fresh_key(app)?;
    let (mut tx, policy, now) = begin(app, who).await?;
    let before = policy.security_lock().days_at(now);
    let (lock, how) = policy.security_lock().set(days, now);
    users::set_security_lock(&mut tx, who.user_id, lock).await?;
    let from = match how {
        Set::Now => None,
        Set::From(at) => Some(at),
    };
    let event = AuditEvent::SecurityLockSet { days, before, from };
    append(&mut tx, who, client, event, now).await?;
    tx.commit().await?;
    Ok(shown(lock, now))
}

/// Cancels a waiting shortening of the lock (a fresh key touch).
pub async fn cancel(
    app: &AppState,
    who: &SignedIn,
    client: &Client,
) -> ApiResult<SecurityLockView> {
    who.require_fresh_key(app)?;
    let (mut tx, policy, now) = begin(app, who).await?;
    let lock = policy
        .security_lock()
        .cancel(now)
        .ok_or(ApiError::NotFound("waiting lock change"))?;
    users::set_security_lock(&mut tx, who.user_id, lock).await?;
    let event = AuditEvent::SecurityLockCancelled { days: lock.days };
    append(&mut tx, who, client, event, now).await?;
    tx.commit().await?;
    Ok(shown(lock, now))
}

/// Under a lock, a key can be removed only once its scheduled removal is
/// due; without one, at once.
pub fn removal_allowed(lock: SecurityLock, key: &CredentialRow, now: Millis) -> ApiResult<()> {
    if lock.days_at(now) == 0 {
        return Ok(());
    }
    match key.removal_from {
        Some(from) if from <= now => Ok(()),
        Some(from) => Err(ApiError::SecurityLocked(format!(
            "the removal of this key is scheduled; it can be finished from {}",
            rfc3339(from)
        ))),
        None => Err(ApiError::SecurityLocked(
            "your security lock delays removing a key: schedule the removal first".into(),
        )),
    }
}

/// Schedules the removal of a key under the lock: it can be finished from
/// the end of the lock period. A removal already scheduled keeps its time.
pub async fn schedule_removal(
    app: &AppState,
    who: &SignedIn,
    key_id: Uuid,
    client: &Client,
) -> ApiResult<ScheduledRemoval> {
    let (mut tx, policy, now) = begin(app, who).await?;
    let lock = policy.security_lock();
    if lock.days_at(now) == 0 {
        return Err(ApiError::invalid(
            "key",
            "there is no security lock: remove the key directly",
        ));
    }
    let key = credentials::for_user(&app.db, who.user_id)
        .await?
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or(ApiError::NotFound("key"))?;
    if let Some(from) = key.removal_from {
        return Ok(ScheduledRemoval {
            key_id,
            removable_from: rfc3339(from),
        });
    }
    let from = lock.loosening_from(now);
    credentials::set_removal_from(&mut tx, who.user_id, key_id, Some(from)).await?;
    let event = AuditEvent::KeyRemovalScheduled {
        key_id,
        label: key.label,
        removable_from: from,
    };
    append(&mut tx, who, client, event, now).await?;
    tx.commit().await?;
    Ok(ScheduledRemoval {
        key_id,
        removable_from: rfc3339(from),
    })
}

/// Cancels a scheduled key removal (a fresh key touch).
pub async fn cancel_removal(
    app: &AppState,
    who: &SignedIn,
    key_id: Uuid,
    client: &Client,
) -> ApiResult<()> {
    who.require_fresh_key(app)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    users::lock(&mut tx, who.user_id).await?;
    if !credentials::set_removal_from(&mut tx, who.user_id, key_id, None).await? {
        return Err(ApiError::NotFound("scheduled removal"));
    }
    append(
        &mut tx,
        who,
        client,
        AuditEvent::KeyRemovalCancelled { key_id },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A transaction holding the user-row lock, the user's policy state read
/// under it, and now.
async fn begin(app: &AppState, who: &SignedIn) -> ApiResult<(Tx, PolicyRow, Millis)> {
    let mut tx = app.db.begin().await?;
    let policy = users::lock_with_policy(&mut tx, who.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok((tx, policy, app.clock.now()))
}

async fn append(
    tx: &mut Tx,
    who: &SignedIn,
    client: &Client,
    event: AuditEvent,
    now: Millis,
) -> ApiResult<()> {
    let event = audit::Event {
        user_id: Some(who.user_id),
        event,
        ip: Some(&client.ip),
    };
    Ok(audit::append(tx, &event, now).await?)
}
