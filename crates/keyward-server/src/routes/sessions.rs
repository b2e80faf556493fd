//! The user's signed-in sessions: list, end any.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::account::SessionList;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::Client;
use crate::flows::account;
use crate::state::AppState;

/// Session routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(end))
}

/// The user's active sessions.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", security(("session" = [])),
    responses((status = 200, description = "Sessions", body = SessionList)))]
async fn list(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<SessionList>> {
    Ok(Json(
        account::sessions(&app, who.user_id, who.login_id).await?,
    ))
}

/// Ends a session (this one included).
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Session (login) id")),
    responses((status = 204, description = "Ended")))]
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
