//! The user's own security activity.

use keyward_api::account::{AuditEvent, AuditPage};
use serde_json::Value;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::audit;

/// The user's latest `limit` audit entries, newest first.
pub async fn page(app: &AppState, user_id: Uuid, limit: i64) -> ApiResult<AuditPage> {
    let rows = audit::for_user(&app.db, user_id, limit).await?;
    let events = rows
        .into_iter()
        .map(|r| AuditEvent {
            seq: r.seq,
            at: rfc3339(r.at),
            detail: serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
            event: r.event,
            ip: r.ip,
        })
        .collect();
    Ok(AuditPage { events })
}
