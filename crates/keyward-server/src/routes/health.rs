//! Liveness and readiness probes (public).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::routes::schemas;
use crate::state::AppState;

/// `/healthz` and `/readyz`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", body = schemas::Health)))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers (migrations ran before the server bound).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = schemas::Health)))]
async fn readyz(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    // Not ready (fail closed) unless the database answers, every embedded
    // migration is applied, and a signing key can be loaded.
    app.db
        .ping()
        .await
        .map_err(|e| crate::error::ApiError::Unavailable(e.into()))?;
    if !app
        .db
        .migrations_current()
        .await
        .map_err(|e| crate::error::ApiError::Unavailable(e.into()))?
    {
        return Err(crate::error::ApiError::Unavailable(anyhow::anyhow!(
            "migrations not applied"
        )));
    }
    if crate::store::signing_keys::active(&app.db)
        .await
        .map_err(|e| crate::error::ApiError::Unavailable(e.into()))?
        .is_none()
    {
        return Err(crate::error::ApiError::Unavailable(anyhow::anyhow!(
            "no signing key"
        )));
    }
    Ok(Json(
        json!({ "status": "ready", "database": app.db.backend() }),
    ))
}
