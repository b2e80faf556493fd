//! The user's signed-in sessions: list, end any.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::extract::Client;
use crate::flows::account;
use crate::state::AppState;
use crate::store::logins;

/// Session routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sessions", get(list))
        .route("/v1/sessions/{id}", delete(end))
}

async fn list(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let active = logins::active_for_user(&app.db, who.user_id, app.clock.now()).await?;
    let sessions: Vec<Value> = active
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "created_at": rfc3339(l.created_at),
                "last_seen_at": rfc3339(l.last_seen_at),
                "expires_at": rfc3339(l.expires_at),
                "ip": l.ip,
                "user_agent": l.user_agent,
                "current": l.id == who.login_id,
            })
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

async fn end(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("session"))?;
    account::end_login(&app, who.user_id, id, "ended_by_user", &client).await?;
    if id == who.login_id {
        who.session.flush().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
