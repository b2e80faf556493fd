//! The HTTP surface: each API module exposes an `OpenApiRouter` whose routes
//! carry their OpenAPI description (`#[utoipa::path]` + `routes!`), so a
//! route cannot be registered without being documented. This module merges
//! them, adds the `Origin` check to browser routes, finishes the document
//! served at `/openapi.json`, adds the web pages, and turns unknown routes and
//! wrong methods into problems.

use std::sync::Arc;

use axum::{Extension, Router, middleware};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::extract::require_origin;
use crate::openapi::{self, ApiDoc};
use crate::state::AppState;

pub mod api_keys;
pub mod audit;
pub mod events;
pub mod health;
pub mod jwks;
pub mod keys;
pub mod operators;
pub mod ops;
pub mod recovery;
pub mod sessions;
pub mod settings;
pub mod signin;
pub mod step_ups;
pub mod web;
pub mod withdrawal_controls;

/// Every API route with its documentation (no web pages, no fallbacks).
pub fn api(app: AppState) -> OpenApiRouter<AppState> {
    let mut browser = OpenApiRouter::new()
        .merge(signin::router())
        .merge(keys::router())
        .merge(sessions::router())
        .merge(audit::router())
        .merge(step_ups::router())
        .merge(withdrawal_controls::router())
        .merge(settings::router())
        .merge(api_keys::router())
        .merge(recovery::router());
    openapi::origin_checked(browser.get_openapi_mut());
    let browser = browser.layer(middleware::from_fn_with_state(app, require_origin));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(jwks::router())
        .merge(ops::router())
        .merge(step_ups::service_router())
        .merge(api_keys::service_router())
        .merge(withdrawal_controls::service_router())
        .merge(operators::router())
        .merge(events::router())
        .merge(browser)
}

/// The finished OpenAPI document of [`api`], as served.
pub fn document(app: AppState) -> serde_json::Value {
    let config = app.config.clone();
    openapi::served(openapi::finish(api(app).into_openapi()), &config)
}

/// The whole application router (without the session layer).
pub fn router(app: AppState) -> Router<AppState> {
    let config = app.config.clone();
    let (api, doc) = api(app).split_for_parts();
    let json: Arc<str> = openapi::served(openapi::finish(doc), &config)
        .to_string()
        .into();
    api.layer(Extension(ops::Document(json)))
        .merge(web::router())
        .fallback(web::not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
