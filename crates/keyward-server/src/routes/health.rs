//! Liveness and readiness probes (public).

use axum::Json;
use axum::extract::State;
use keyward_api::operations::Health;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::state::AppState;

/// `/healthz` and `/readyz`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        database: None,
    })
}

/// Ready when the database answers (migrations ran before the server bound).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Health)))]
async fn readyz(State(app): State<AppState>) -> ApiResult<Json<Health>> {
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
    // Fails closed as approvals would: no usable signing key, not ready.
    crate::signing::active(&app).await.map_err(|e| match e {
        crate::error::ApiError::Internal(err) => crate::error::ApiError::Unavailable(err),
        other => other,
    })?;
    Ok(Json(Health {
        status: "ready".into(),
        database: Some(app.db.backend().into()),
    }))
}
