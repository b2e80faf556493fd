//! Account recovery: recovery codes (signed in), and a recovery that the
//! password and a code start, any of the account's keys can cancel, and
//! the token completes once its delay has passed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use keyward_api::Problem;
use keyward_api::recovery::{
    CompleteRecovery, RecoveryCancelled, RecoveryCodes, RecoveryCompleted, RecoveryStarted,
    RecoveryStatus, StartRecovery,
};
use tower_sessions::Session;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{self, AuthState, SignedIn};
use crate::error::ApiResult;
use crate::extract::{ApiJson, Client};
use crate::flows::recovery;
use crate::state::AppState;

/// Recovery routes (browser: Origin-checked).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(create_codes))
        .routes(routes!(start))
        .routes(routes!(cancel))
        .routes(routes!(complete))
}

/// The user's recovery codes left, and any recovery under way.
#[utoipa::path(get, path = "/v1/recovery", tag = "recovery", security(("session" = [])),
    responses((status = 200, description = "Codes left and any recovery under way", body = RecoveryStatus)))]
async fn status(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<RecoveryStatus>> {
    Ok(Json(recovery::status(&app, who.user_id).await?))
}

/// A new set of ten recovery codes, shown once (needs a fresh key touch);
/// any earlier set stops working.
#[utoipa::path(post, path = "/v1/recovery-codes", tag = "recovery", security(("session" = [])),
    responses(
        (status = 201, description = "The codes, shown once", body = RecoveryCodes),
        (status = 403, description = "reauth-required", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_codes(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<(StatusCode, Json<RecoveryCodes>)> {
    let codes = recovery::create_codes(&app, &who, &client).await?;
    Ok((StatusCode::CREATED, Json(codes)))
}

/// Starts a recovery for a user who lost their keys: the password and one
/// recovery code. Nothing is signed in; the recovery completes after the
/// delay (`recovery.delay_hours`) unless one of the account's keys cancels
/// it. A wrong code counts as a failed sign-in.
#[utoipa::path(post, path = "/v1/recovery/start", tag = "recovery", request_body = StartRecovery,
    responses(
        (status = 202, description = "Started: the token completes it from `completes_at`", body = RecoveryStarted),
        (status = 401, description = "invalid-credentials", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "recovery-pending", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "busy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn start(
    State(app): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<StartRecovery>,
) -> ApiResult<(StatusCode, Json<RecoveryStarted>)> {
    let started = recovery::start(&app, &body.username, body.password, &body.code, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}

/// Cancels the recovery under way (any of the account's keys, by signing
/// in with it).
#[utoipa::path(post, path = "/v1/recovery/cancel", tag = "recovery", security(("session" = [])),
    responses(
        (status = 200, description = "Cancelled", body = RecoveryCancelled),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<RecoveryCancelled>> {
    recovery::cancel(&app, &who, &client).await?;
    Ok(Json(RecoveryCancelled { cancelled: true }))
}

/// Completes a recovery whose delay has passed: every key, session and API
/// key of the account is removed and withdrawals are held; this session may
/// then enrol a new first key.
#[utoipa::path(post, path = "/v1/recovery/complete", tag = "recovery", request_body = CompleteRecovery,
    responses(
        (status = 200, description = "Completed: enrol a new key", body = RecoveryCompleted),
        (status = 401, description = "invalid-credentials", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "recovery-not-due", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "busy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn complete(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    ApiJson(body): ApiJson<CompleteRecovery>,
) -> ApiResult<Json<RecoveryCompleted>> {
    let (user_id, done) = recovery::complete(&app, &body.token, body.password, &client).await?;
    let at = app.clock.now();
    auth::advance(&session, AuthState::Enrolling { user_id, at }).await?;
    Ok(Json(done))
}
