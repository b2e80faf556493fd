//! Security keys: enrol, list, rename, remove; and re-authentication (a
//! fresh key assertion that unlocks sensitive changes for a few minutes).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use keyward_api::Problem;
use keyward_api::keys::{
    CeremonyAnswer, CeremonyOptions, Key, KeyList, KeyRemoved, Reauthenticated, Registration,
    Rename,
};
use keyward_api::security_lock::ScheduledRemoval;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{self, AuthState, MayEnrol, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::flows::assertion::Purpose;
use crate::flows::assertion::username_of;
use crate::flows::{assertion, keys, security_lock};
use crate::routes::signin::remember_device;
use crate::state::AppState;

/// Key routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(registration_options))
        .routes(routes!(registration_verify))
        .routes(routes!(endorsement_verify))
        .routes(routes!(rename))
        .routes(routes!(removal_options))
        .routes(routes!(removal_verify))
        .routes(routes!(removal_schedule))
        .routes(routes!(removal_cancel))
        .routes(routes!(confirm))
        .routes(routes!(reauth_options))
        .routes(routes!(reauth_verify))
}

fn parse_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("key"))
}

/// The user's keys.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("session" = [])),
    responses((status = 200, description = "Keys", body = KeyList)))]
async fn list(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<KeyList>> {
    let keys = keys::list(&app, who.user_id).await?;
    Ok(Json(KeyList { keys }))
}

/// A registration challenge: for a new account's first key, or a signed-in
/// user adding one (which one of their keys then endorses).
#[utoipa::path(post, path = "/v1/keys/registration/options", tag = "keys", security(("session" = [])),
    responses(
        (status = 200, description = "WebAuthn creation options", body = CeremonyOptions),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
    ))]
async fn registration_options(
    State(app): State<AppState>,
    who: MayEnrol,
) -> ApiResult<Json<CeremonyOptions>> {
    Ok(Json(keys::start_enrolment(&app, &who).await?))
}

/// Verifies the registration. A new account's first key is stored (201).
/// Any other key waits for one of the user's keys to endorse it (202, with
/// the assertion options to answer at `/v1/keys/endorsement/verify`).
#[utoipa::path(post, path = "/v1/keys/registration/verify", tag = "keys", security(("session" = [])),
    request_body = Registration,
    responses(
        (status = 201, description = "The enrolled key", body = Key),
        (status = 202, description = "Touch one of your keys to add this one", body = CeremonyOptions),
        (status = 400, description = "ceremony-refused", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ceremony-unknown, credential-exists", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
    ))]
async fn registration_verify(
    State(app): State<AppState>,
    who: MayEnrol,
    client: Client,
    ApiJson(body): ApiJson<Registration>,
) -> ApiResult<Response> {
    let result = enrol(app, who, client, body).await;
    crate::metrics::ceremony("registration", crate::metrics::outcome(&result));
    result
}

async fn enrol(
    app: AppState,
    who: MayEnrol,
    client: Client,
    body: Registration,
) -> ApiResult<Response> {
    let enrolment = keys::finish_enrolment(
        &app,
        &who,
        body.ceremony,
        &body.label,
        body.credential,
        &client,
    )
    .await?;
    let enrolled = match enrolment {
        keys::Enrolment::Stored(enrolled) => *enrolled,
        keys::Enrolment::Pending(options) => {
            return Ok((StatusCode::ACCEPTED, Json(options)).into_response());
        }
    };
    let mut device = None;
    if let Some(login_id) = enrolled.new_login {
        // First key: the account is now usable and the user is signed in.
        let state = AuthState::SignedIn {
            user_id: who.user_id,
            login_id,
            key_at: app.clock.now(),
        };
        auth::advance(&who.session, state).await?;
        let username = username_of(&app, who.user_id).await?;
        device = Some(remember_device(&app, &client, &username));
    }
    Ok((
        StatusCode::CREATED,
        device,
        Json(keys::view(&app, &enrolled.key).await?),
    )
        .into_response())
}

/// One of the user's keys endorses the key waiting from
/// `/v1/keys/registration/verify`: the key is added, and the user's key
/// chain records it.
#[utoipa::path(post, path = "/v1/keys/endorsement/verify", tag = "keys", security(("session" = [])),
    request_body = CeremonyAnswer,
    responses(
        (status = 201, description = "The added key", body = Key),
        (status = 400, description = "ceremony-refused (key_chain_changed, key_not_in_chain, …)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ceremony-unknown, credential-exists", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
    ))]
async fn endorsement_verify(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<(StatusCode, Json<Key>)> {
    let result = keys::endorse_addition(&app, &who, body, &client).await;
    crate::metrics::ceremony("endorsement", crate::metrics::outcome(&result));
    Ok((StatusCode::CREATED, Json(keys::view(&app, &result?).await?)))
}

/// Renames a key.
#[utoipa::path(patch, path = "/v1/keys/{id}", tag = "keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Key id")), request_body = Rename,
    responses((status = 204, description = "Renamed")))]
async fn rename(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rename>,
) -> ApiResult<StatusCode> {
    keys::rename(&app, &who, parse_id(&id)?, &body.label, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirms a key flagged "possibly cloned" is the user's own (needs a
/// fresh key assertion); until then it cannot approve step-ups.
#[utoipa::path(post, path = "/v1/keys/{id}/confirm", tag = "keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 204, description = "Confirmed: the key may approve again"),
        (status = 403, description = "reauth-required", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn confirm(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    keys::confirm(&app, &who, parse_id(&id)?, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assertion options to remove a key (never the last): one of the user's
/// keys signs the key-chain statement removing it.
#[utoipa::path(post, path = "/v1/keys/{id}/removal/options", tag = "keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 200, description = "WebAuthn request options", body = CeremonyOptions),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "last-key, security-locked", body = Problem, content_type = "application/problem+json"),
    ))]
async fn removal_options(
    State(app): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<CeremonyOptions>> {
    Ok(Json(keys::start_removal(&app, &who, parse_id(&id)?).await?))
}

/// Under the user's security lock: schedules a key's removal, which can be
/// finished (`removal/options`, `removal/verify`) from the end of the lock
/// period and cancelled with a key before. Already scheduled: unchanged.
#[utoipa::path(post, path = "/v1/keys/{id}/removal/schedule", tag = "keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 202, description = "Scheduled", body = ScheduledRemoval),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn removal_schedule(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<ScheduledRemoval>)> {
    let scheduled = security_lock::schedule_removal(&app, &who, parse_id(&id)?, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(scheduled)))
}

/// Cancels a scheduled key removal (needs a fresh key touch).
#[utoipa::path(post, path = "/v1/keys/{id}/removal/cancel", tag = "keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 204, description = "Cancelled: the key stays"),
        (status = 403, description = "reauth-required", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn removal_cancel(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    security_lock::cancel_removal(&app, &who, parse_id(&id)?, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a key once one of the user's keys endorsed it; ends the user's
/// other sessions.
#[utoipa::path(post, path = "/v1/keys/{id}/removal/verify", tag = "keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Key id")),
    request_body = CeremonyAnswer,
    responses(
        (status = 200, description = "Removed", body = KeyRemoved),
        (status = 400, description = "ceremony-refused", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "last-key, ceremony-unknown, security-locked", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
    ))]
async fn removal_verify(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<Json<KeyRemoved>> {
    let key_id = parse_id(&id)?;
    let result = keys::finish_removal(&app, &who, key_id, body, &client).await;
    crate::metrics::ceremony("removal", crate::metrics::outcome(&result));
    let ended = result?;
    Ok(Json(KeyRemoved {
        removed: true,
        sessions_ended: ended,
    }))
}

/// A challenge for a fresh key assertion.
#[utoipa::path(post, path = "/v1/reauth/options", tag = "keys", security(("session" = [])),
    responses((status = 200, description = "WebAuthn request options", body = CeremonyOptions)))]
async fn reauth_options(
    State(app): State<AppState>,
    who: SignedIn,
) -> ApiResult<Json<CeremonyOptions>> {
    let uv = app.config.user_verification.key_management;
    Ok(Json(
        assertion::start(&app, who.user_id, Purpose::Reauth, uv).await?,
    ))
}

/// A fresh key assertion: unlocks key changes for a few minutes.
#[utoipa::path(post, path = "/v1/reauth/verify", tag = "keys", security(("session" = [])),
    request_body = CeremonyAnswer,
    responses(
        (status = 200, description = "Re-authenticated", body = Reauthenticated),
        (status = 400, description = "ceremony-refused", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ceremony-unknown", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reauth_verify(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<Json<Reauthenticated>> {
    let result = keys::reauthenticate(&app, who.user_id, &client, body).await;
    crate::metrics::ceremony("reauth", crate::metrics::outcome(&result));
    let at = result?;
    let state = AuthState::SignedIn {
        user_id: who.user_id,
        login_id: who.login_id,
        key_at: at,
    };
    auth::advance(&who.session, state).await?;
    Ok(Json(Reauthenticated {
        reauthenticated: true,
        valid_for_seconds: app.config.reauth_window.as_secs(),
    }))
}
