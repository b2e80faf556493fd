//! The user's settings: the anti-phishing phrase shown on the confirmation
//! page, and the security lock.

use axum::Json;
use axum::extract::State;
use keyward_api::Problem;
use keyward_api::account::{Settings, SettingsView};
use keyward_api::security_lock::{SecurityLockView, SetSecurityLock};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Client};
use crate::flows::{security_lock, settings};
use crate::state::AppState;

/// Settings routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read, write))
        .routes(routes!(lock, set_lock))
        .routes(routes!(cancel_lock))
}

/// The user's settings.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", security(("session" = [])),
    responses((status = 200, description = "Settings", body = SettingsView)))]
async fn read(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<SettingsView>> {
    Ok(Json(settings::read(&app, who.user_id).await?))
}

/// Sets the anti-phishing phrase.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", security(("session" = [])),
    request_body = Settings,
    responses((status = 200, description = "Settings", body = SettingsView)))]
async fn write(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<SettingsView>> {
    let phrase = settings::set_phrase(&app, who.user_id, &body, &client).await?;
    Ok(Json(SettingsView {
        anti_phishing_phrase: Some(phrase),
    }))
}

/// The user's security lock: days in force, a shorter lock waiting, and
/// from when a loosening change asked for now would take effect.
#[utoipa::path(get, path = "/v1/security-lock", tag = "settings", security(("session" = [])),
    responses((status = 200, description = "The lock", body = SecurityLockView)))]
async fn lock(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<SecurityLockView>> {
    Ok(Json(security_lock::view(&app, who.user_id).await?))
}

/// Sets the security lock (0–30 days; needs a fresh key touch): longer is
/// in force at once; shorter waits until the lock in force has passed.
#[utoipa::path(put, path = "/v1/security-lock", tag = "settings", security(("session" = [])),
    request_body = SetSecurityLock,
    responses(
        (status = 200, description = "The lock", body = SecurityLockView),
        (status = 403, description = "reauth-required", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_lock(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<SetSecurityLock>,
) -> ApiResult<Json<SecurityLockView>> {
    Ok(Json(
        security_lock::set(&app, &who, body.days, &client).await?,
    ))
}

/// Cancels a waiting shorter lock (needs a fresh key touch).
#[utoipa::path(post, path = "/v1/security-lock/cancel", tag = "settings", security(("session" = [])),
    responses(
        (status = 200, description = "The lock", body = SecurityLockView),
        (status = 403, description = "reauth-required", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel_lock(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<SecurityLockView>> {
    Ok(Json(security_lock::cancel(&app, &who, &client).await?))
}
