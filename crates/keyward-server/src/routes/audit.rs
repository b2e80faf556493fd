//! The user's own security activity, newest first.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::SignedIn;
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::audit;

/// Audit routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/audit", get(list))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<i64>,
}

async fn list(
    State(app): State<AppState>,
    who: SignedIn,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(page) = page.map_err(|e| ApiError::invalid("limit", e.body_text()))?;
    let limit = page.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 500"));
    }
    let rows = audit::for_user(&app.db, who.user_id, limit).await?;
    let events: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                "at": rfc3339(r.at),
                "event": r.event,
                "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
                "ip": r.ip,
            })
        })
        .collect();
    Ok(Json(json!({ "events": events })))
}
