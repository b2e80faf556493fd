//! User API keys: request (a key-approved step-up), create (redeeming that
//! approval; secret shown once), list, revoke — and the gateways' verify.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::Problem;
use keyward_api::api_keys::{
    ApiKeyCreate, ApiKeyCreated, ApiKeyDetails, ApiKeyList, Revoked, VerifiedKey, VerifyApiKey,
};
use keyward_api::step_ups::StepUpAccepted;
use secrecy::ExposeSecret;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client, Service};
use crate::flows::api_keys;
use crate::flows::step_ups;
use crate::state::AppState;

/// The user's routes (browser session).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(request))
        .routes(routes!(revoke_all))
        .routes(routes!(revoke))
}

/// The gateways' route (service key with `apikeys:verify`).
pub fn service_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify))
}

/// Asks for a new API key: an `api_key.create` step-up to approve with a key.
#[utoipa::path(post, path = "/v1/api-keys/step-up", tag = "api-keys", security(("session" = [])),
    request_body = ApiKeyDetails,
    responses(
        (status = 202, description = "The step-up to approve", body = StepUpAccepted),
        (status = 409, description = "policy-refused", body = Problem, content_type = "application/problem+json"),
    ))]
async fn request(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(details): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<StepUpAccepted>)> {
    let row = api_keys::request(&app, who.user_id, &details, &client).await?;
    let step_up = step_ups::view(&app, &row);
    Ok((StatusCode::ACCEPTED, Json(StepUpAccepted { step_up })))
}

/// Creates the approved key; the secret is shown once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", security(("session" = [])),
    request_body = ApiKeyCreate,
    responses(
        (status = 201, description = "The key and its secret", body = ApiKeyCreated),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already-redeemed, not-approved, step-up-mismatch, too-many-api-keys, policy-refused", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "approval-expired", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    let step_up_id = api_keys::take_step_up_id(&mut body)?;
    let created = api_keys::create(&app, who.user_id, step_up_id, &body, &client).await?;
    let key = ApiKeyCreated {
        key: api_keys::view(&created.key),
        secret: created.secret.expose_secret().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(key)))
}

/// The user's API keys.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", security(("session" = [])),
    responses((status = 200, description = "Keys", body = ApiKeyList)))]
async fn list(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<ApiKeyList>> {
    Ok(Json(api_keys::list(&app, who.user_id).await?))
}

/// Revokes a key (on every instance within a second).
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", security(("session" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 204, description = "Revoked")))]
async fn revoke(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("api key"))?;
    api_keys::revoke(&app, who.user_id, Some(id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes all the user's keys.
#[utoipa::path(post, path = "/v1/api-keys/revoke-all", tag = "api-keys", security(("session" = [])),
    responses((status = 200, description = "How many were revoked", body = Revoked)))]
async fn revoke_all(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<Revoked>> {
    let revoked = api_keys::revoke(&app, who.user_id, None, &client).await?;
    Ok(Json(Revoked { revoked }))
}

/// Checks a user API key for a scope from a client address (service
/// `apikeys:verify`).
#[utoipa::path(post, path = "/v1/api-keys/verify", tag = "api-keys", security(("service" = [])),
    request_body = VerifyApiKey,
    responses(
        (status = 200, description = "The key is good for this", body = VerifiedKey),
        (status = 403, description = "api-key-refused", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify(
    State(app): State<AppState>,
    service: Service,
    ApiJson(body): ApiJson<VerifyApiKey>,
) -> ApiResult<Json<VerifiedKey>> {
    let result = match service.require("apikeys:verify") {
        Ok(()) => api_keys::verify::for_gateway(&app, &body).await,
        Err(e) => Err(e),
    };
    crate::metrics::api_key_verification(crate::metrics::outcome(&result));
    Ok(Json(result?))
}
