//! Removing a key: one of the user's other keys endorses the removal (a
//! key-chain statement it signs over), then the key goes, the user's other
//! sessions end and withdrawals are held, in one transaction.

use keyward_api::PolicyReason;
use keyward_api::keys::{CeremonyAnswer, CeremonyOptions};
use keyward_proof::{ChainAction, Statement};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::caller::Client;
use crate::domain::audit::AuditEvent;
use crate::error::{ApiError, ApiResult};
use crate::flows::assertion::{self, Bound};
use crate::flows::{key_chain, security_lock};
use crate::state::AppState;
use crate::store::ceremonies::Purpose;
use crate::store::credentials;
use crate::store::{audit, logins, users};

/// A key removal waiting for its endorsement: what the ceremony carries.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingRemoval {
    key_id: Uuid,
    /// The chain statement removing it; none for a key the chain never had
    /// (one no key of the user's endorsed), which leaves the chain as it is.
    statement: Option<Statement>,
}

/// Asks the user's keys to endorse removing `key_id` (never the last key):
/// a key-chain statement one of them signs over.
pub async fn start_removal(
    app: &AppState,
    who: &SignedIn,
    key_id: Uuid,
) -> ApiResult<CeremonyOptions> {
    let keys = credentials::for_user(&app.db, who.user_id).await?;
    let row = keys
        .iter()
        .find(|row| row.id == key_id)
        .ok_or(ApiError::NotFound("key"))?;
    if keys.len() <= 1 {
        return Err(ApiError::LastKey);
    }
    let now = app.clock.now();
    security_lock::removal_allowed(security_lock::stored(app, who.user_id).await?, row, now)?;
    let all = crate::store::key_chain::all(&app.db, who.user_id).await?;
    let current = key_chain::current(&all);
    let in_chain = keyward_proof::chain::follow(current, &key_chain::relying_party(app), None)
        .ok()
        .and_then(|state| {
            state
                .keys
                .into_iter()
                .find(|k| k.credential_id == row.credential_id)
        });
    let statement = in_chain
        .map(|key| key_chain::next(who.user_id, current, ChainAction::Remove, key, now))
        .transpose()?;
    // Without a statement the assertion is a plain fresh one: any random
    // challenge will do.
    let challenge = statement
        .as_ref()
        .map_or_else(rand::random, key_chain::challenge);
    let pending = PendingRemoval { key_id, statement };
    let uv = app.config.user_verification.key_management;
    let bound = Bound::from(Purpose::Endorse);
    assertion::start_carrying(app, who.user_id, bound, uv, challenge, pending).await
}

/// Removes one of the user's keys (never the last) once one of their keys
/// endorsed it, and ends the user's other sessions.
pub async fn finish_removal(
    app: &AppState,
    who: &SignedIn,
    key_id: Uuid,
    answer: CeremonyAnswer,
    client: &Client,
) -> ApiResult<u64> {
    let uv = app.config.user_verification.key_management;
    let bound = Bound::from(Purpose::Endorse);
    let (mut done, pending): (_, PendingRemoval) =
        assertion::finish_carrying(app, who.user_id, client, bound, answer, uv).await?;
    if pending.key_id != key_id {
        return Err(ApiError::CeremonyUnknown);
    }
    let Some(key) = credentials::for_user(&app.db, who.user_id)
        .await?
        .into_iter()
        .find(|row| row.id == key_id)
    else {
        return Err(ApiError::NotFound("key"));
    };
    let now = app.clock.now();
    security_lock::removal_allowed(security_lock::stored(app, who.user_id).await?, &key, now)?;
    let label = key.label;
    match pending.statement {
        Some(statement) => key_chain::endorse(app, &mut done, statement, None)
            .await
            .map(|_| ())?,
        None => {
            users::lock(&mut done.tx, who.user_id).await?;
        }
    }
    let tx = &mut done.tx;
    // Counted under the user-row lock: two concurrent removals cannot both
    // see two keys and leave none.
    if credentials::count_for_user(tx, who.user_id).await? <= 1 {
        return Err(ApiError::LastKey);
    }
    if !credentials::delete(tx, who.user_id, key_id).await? {
        return Err(ApiError::NotFound("key"));
    }
    let ended = logins::end_others(tx, who.user_id, Some(who.login_id), "key_removed", now).await?;
    users::security_changed(
        tx,
        who.user_id,
        now,
        now + app.hold_ms(),
        PolicyReason::KeyRemoved,
    )
    .await?;
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: AuditEvent::KeyRemoved {
            key_id,
            label,
            sessions_ended: ended,
        },
        ip: Some(&client.ip),
    };
    audit::append(tx, &event, now).await?;
    done.tx.commit().await?;
    Ok(ended)
}
