//! The HTTP surface: each module exposes `router()`; this one merges them,
//! adds the `Origin` check to browser routes, and turns unknown routes and
//! wrong methods into problems.

use axum::Router;
use axum::middleware;

use crate::error::ApiError;
use crate::extract::require_origin;
use crate::state::AppState;

pub mod api_keys;
pub mod audit;
pub mod health;
pub mod jwks;
pub mod keys;
pub mod sessions;
pub mod settings;
pub mod signin;
pub mod stepups;
pub mod web;
pub mod withdrawals;

/// The whole application router (without the session layer).
pub fn router(app: AppState) -> Router<AppState> {
    let browser = Router::new()
        .merge(signin::router())
        .merge(keys::router())
        .merge(sessions::router())
        .merge(audit::router())
        .merge(stepups::router())
        .merge(withdrawals::router())
        .merge(settings::router())
        .merge(api_keys::router())
        .layer(middleware::from_fn_with_state(app, require_origin));
    Router::new()
        .merge(health::router())
        .merge(jwks::router())
        .merge(web::router())
        .merge(stepups::service_router())
        .merge(api_keys::service_router())
        .merge(withdrawals::service_router())
        .merge(browser)
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
