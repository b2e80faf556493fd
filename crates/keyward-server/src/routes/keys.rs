//! Security keys: enrol, list, rename, remove; and re-authentication (a
//! fresh key assertion that unlocks sensitive changes for a few minutes).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{self, AuthState, MayEnrol, SignedIn};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::flows::account::username_of;
use crate::flows::{assertion, keys};
use crate::routes::schemas;
use crate::routes::signin::{CeremonyAnswer, DeviceCookie, remember_device};
use crate::state::AppState;
use crate::store::audit;
use crate::store::ceremonies::Purpose;
use crate::store::credentials::{self, CredentialRow};

/// Key routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(registration_options))
        .routes(routes!(registration_verify))
        .routes(routes!(rename, remove))
        .routes(routes!(confirm))
        .routes(routes!(reauth_options))
        .routes(routes!(reauth_verify))
}

/// The answer to a registration challenge.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Registration {
    /// Ceremony id from the options response.
    pub(crate) ceremony: Uuid,
    /// A name for the key (1-64 characters).
    pub(crate) label: String,
    /// The WebAuthn response (`PublicKeyCredential.toJSON()`).
    #[schema(value_type = Object)]
    pub(crate) credential: Value,
}

/// A new label.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rename {
    /// A name for the key (1-64 characters).
    pub(crate) label: String,
}

/// A key as the API shows it.
pub fn key_json(k: &CredentialRow) -> Value {
    json!({
        "id": k.id,
        "label": k.label,
        "credential_id": URL_SAFE_NO_PAD.encode(&k.credential_id),
        "aaguid": k.aaguid,
        "attestation_format": k.attestation_format,
        "created_at": rfc3339(k.created_at),
        "last_used_at": k.last_used_at.map(rfc3339),
        "possibly_cloned": k.possibly_cloned,
    })
}

fn parse_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("key"))
}

/// The user's keys.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("session" = [])),
    responses((status = 200, description = "Keys", body = schemas::KeyList)))]
async fn list(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let keys = credentials::for_user(&app.db, who.user_id).await?;
    Ok(Json(
        json!({ "keys": keys.iter().map(key_json).collect::<Vec<_>>() }),
    ))
}

/// A registration challenge: for a new account's first key, or a signed-in
/// user with a fresh key assertion.
#[utoipa::path(post, path = "/v1/keys/registration/options", tag = "keys", security(("session" = [])),
    responses(
        (status = 200, description = "WebAuthn creation options", body = schemas::CeremonyOptions),
        (status = 403, description = "reauth-required", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn registration_options(
    State(app): State<AppState>,
    who: MayEnrol,
) -> ApiResult<Json<Value>> {
    Ok(Json(keys::start_enrolment(&app, &who).await?))
}

/// Verifies the registration and stores the key.
#[utoipa::path(post, path = "/v1/keys/registration/verify", tag = "keys", security(("session" = [])),
    request_body = Registration,
    responses(
        (status = 201, description = "The enrolled key", body = schemas::Key),
        (status = 400, description = "ceremony-unknown, ceremony-refused", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "reauth-required", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "credential-exists", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn registration_verify(
    State(app): State<AppState>,
    who: MayEnrol,
    client: Client,
    ApiJson(body): ApiJson<Registration>,
) -> ApiResult<(StatusCode, Option<DeviceCookie>, Json<Value>)> {
    let result = enrol(app, who, client, body).await;
    crate::metrics::ceremony("registration", crate::metrics::outcome(&result));
    result
}

async fn enrol(
    app: AppState,
    who: MayEnrol,
    client: Client,
    body: Registration,
) -> ApiResult<(StatusCode, Option<DeviceCookie>, Json<Value>)> {
    let enrolled = keys::finish_enrolment(
        &app,
        &who,
        body.ceremony,
        &body.label,
        body.credential,
        &client,
    )
    .await?;
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
    Ok((StatusCode::CREATED, device, Json(key_json(&enrolled.key))))
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
        (status = 403, description = "reauth-required", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not-found", body = crate::openapi::Problem, content_type = "application/problem+json"),
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

/// Removes a key (needs a fresh key assertion; never the last key); ends
/// the user's other sessions.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 200, description = "Removed", body = schemas::KeyRemoved),
        (status = 403, description = "reauth-required", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "last-key", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn remove(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let ended = keys::remove(&app, &who, parse_id(&id)?, &client).await?;
    Ok(Json(json!({ "removed": true, "sessions_ended": ended })))
}

/// A challenge for a fresh key assertion.
#[utoipa::path(post, path = "/v1/reauth/options", tag = "keys", security(("session" = [])),
    responses((status = 200, description = "WebAuthn request options", body = schemas::CeremonyOptions)))]
async fn reauth_options(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let uv = app.config.user_verification.key_management;
    Ok(Json(
        assertion::start(&app, who.user_id, Purpose::Reauth, uv).await?,
    ))
}

/// A fresh key assertion: unlocks key changes for a few minutes.
#[utoipa::path(post, path = "/v1/reauth/verify", tag = "keys", security(("session" = [])),
    request_body = CeremonyAnswer,
    responses(
        (status = 200, description = "Re-authenticated", body = schemas::Reauthenticated),
        (status = 400, description = "ceremony-unknown, ceremony-refused", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn reauth_verify(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<Json<Value>> {
    let result = reauthenticate(app, who, client, body).await;
    crate::metrics::ceremony("reauth", crate::metrics::outcome(&result));
    result
}

async fn reauthenticate(
    app: AppState,
    who: SignedIn,
    client: Client,
    body: CeremonyAnswer,
) -> ApiResult<Json<Value>> {
    let uv = app.config.user_verification.key_management;
    let mut done = assertion::finish(
        &app,
        who.user_id,
        &client,
        assertion::Sender::Browser,
        Purpose::Reauth,
        body.ceremony,
        body.credential,
        uv,
    )
    .await?;
    let now = app.clock.now();
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: "reauth.succeeded",
        detail: json!({ "key_id": done.credential.id }),
        ip: Some(&client.ip),
    };
    audit::append(&mut done.tx, &event, now).await?;
    done.tx.commit().await?;
    let state = AuthState::SignedIn {
        user_id: who.user_id,
        login_id: who.login_id,
        key_at: now,
    };
    auth::advance(&who.session, state).await?;
    Ok(Json(
        json!({ "reauthenticated": true, "valid_for_seconds": app.config.reauth_window_seconds }),
    ))
}
