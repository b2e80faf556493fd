//! The user's own security activity, newest first.

use axum::Json;
use axum::extract::{Query, State};
use keyward_api::Problem;
use keyward_api::account::AuditPage;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::flows::audit;
use crate::state::AppState;

/// Audit routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Page {
    /// How many events, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The user's own security events, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", security(("session" = [])), params(Page),
    responses(
        (status = 200, description = "Events", body = AuditPage),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(app): State<AppState>,
    who: SignedIn,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let Query(page) = page.map_err(|e| ApiError::invalid("limit", e.body_text()))?;
    let limit = page.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 500"));
    }
    Ok(Json(audit::page(&app, who.user_id, limit).await?))
}
