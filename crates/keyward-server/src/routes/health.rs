//! Liveness and readiness probes (public).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::state::AppState;

/// `/healthz` and `/readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers (migrations ran before the server bound).
async fn readyz(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    app.db.ping().await?;
    Ok(Json(
        json!({ "status": "ready", "database": app.db.backend() }),
    ))
}
