//! The public keys that verify approval tokens (public, cacheable).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::error::ApiResult;
use crate::flows::signing;
use crate::state::AppState;

/// `/.well-known/jwks.json`.
pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

async fn jwks(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(signing::jwks(&app).await?))
}
