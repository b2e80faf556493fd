//! Security events for services that poll (service key with `events:read`);
//! the same signed tokens the webhooks receive, addressed to the key.

use axum::Json;
use axum::extract::{Query, State};
use keyward_api::Problem;
use keyward_api::events::EventPage;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::Service;
use crate::flows::events;
use crate::state::AppState;

/// Event routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Where to read from.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Cursor {
    /// The last position read (`next` of the previous page); 0 for the
    /// start of the log.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// How many log entries to read, 1-500 (default 100); fewer events may
    /// come back, as not every entry is a security event.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Security events after a position, oldest first, as Security Event
/// Tokens (RFC 8417) whose `aud` is this service key's name.
#[utoipa::path(get, path = "/v1/events", tag = "operations", security(("service" = [])), params(Cursor),
    responses(
        (status = 200, description = "Events, and where to read on", body = EventPage),
        (status = 401, description = "invalid-service-key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "insufficient-scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(app): State<AppState>,
    service: Service,
    cursor: Result<Query<Cursor>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<EventPage>> {
    service.require("events:read")?;
    let Query(cursor) = cursor.map_err(|e| ApiError::invalid("after", e.body_text()))?;
    let after = cursor.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::invalid("after", "must be 0 or more"));
    }
    let limit = cursor.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 500"));
    }
    let audience = service.0.name.clone();
    Ok(Json(events::poll(&app, after, limit, &audience).await?))
}
