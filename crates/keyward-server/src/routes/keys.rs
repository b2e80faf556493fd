//! Security keys: enrol, list, rename, remove; and re-authentication (a
//! fresh key assertion that unlocks sensitive changes for a few minutes).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{self, AuthState, MayEnrol, SignedIn};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::flows::account::username_of;
use crate::flows::{assertion, keys, throttle};
use crate::routes::signin::CeremonyAnswer;
use crate::state::AppState;
use crate::store::audit;
use crate::store::ceremonies::Purpose;
use crate::store::credentials::{self, CredentialRow};

/// Key routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/keys", get(list))
        .route("/v1/keys/registration/options", post(registration_options))
        .route("/v1/keys/registration/verify", post(registration_verify))
        .route("/v1/keys/{id}", patch(rename).delete(remove))
        .route("/v1/reauth/options", post(reauth_options))
        .route("/v1/reauth/verify", post(reauth_verify))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    ceremony: Uuid,
    label: String,
    credential: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    label: String,
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

async fn list(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let keys = credentials::for_user(&app.db, who.user_id).await?;
    Ok(Json(
        json!({ "keys": keys.iter().map(key_json).collect::<Vec<_>>() }),
    ))
}

async fn registration_options(
    State(app): State<AppState>,
    who: MayEnrol,
) -> ApiResult<Json<Value>> {
    Ok(Json(keys::start_enrolment(&app, &who).await?))
}

async fn registration_verify(
    State(app): State<AppState>,
    who: MayEnrol,
    client: Client,
    ApiJson(body): ApiJson<Registration>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let enrolled = keys::finish_enrolment(
        &app,
        &who,
        body.ceremony,
        &body.label,
        body.credential,
        &client,
    )
    .await?;
    if let Some(login_id) = enrolled.new_login {
        // First key: the account is now usable and the user is signed in.
        let state = AuthState::SignedIn {
            user_id: who.user_id,
            login_id,
            key_at: app.clock.now(),
        };
        auth::advance(&who.session, state).await?;
    }
    Ok((StatusCode::CREATED, Json(key_json(&enrolled.key))))
}

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

async fn remove(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let ended = keys::remove(&app, &who, parse_id(&id)?, &client).await?;
    Ok(Json(json!({ "removed": true, "sessions_ended": ended })))
}

async fn reauth_options(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let uv = app.config.user_verification.key_management;
    Ok(Json(
        assertion::start(&app, who.user_id, Purpose::Reauth, uv).await?,
    ))
}

async fn reauth_verify(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<Json<Value>> {
    let username = username_of(&app, who.user_id).await?;
    throttle::check(&app, &username, &client.ip).await?;
    let answerer = assertion::Answerer {
        user_id: who.user_id,
        username: &username,
        client: &client,
    };
    let uv = app.config.user_verification.key_management;
    let mut done = assertion::finish(
        &app,
        &answerer,
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
