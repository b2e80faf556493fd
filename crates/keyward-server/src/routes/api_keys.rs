//! User API keys: request (a key-approved step-up), create (redeeming that
//! approval; secret shown once), list, revoke — and the gateways' verify.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client, Service};
use crate::flows::api_keys;
use crate::flows::key_verify::{self, Refusal};
use crate::flows::stepup;
use crate::routes::schemas;
use crate::state::AppState;
use crate::store::audit;

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
    request_body = schemas::ApiKeyDetails,
    responses(
        (status = 202, description = "The step-up to approve", body = schemas::StepUpAccepted),
        (status = 409, description = "policy-refused", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn request(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(details): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let row = api_keys::request(&app, who.user_id, &details, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "step_up": stepup::view(&app, &row) })),
    ))
}

/// Creates the approved key; the secret is shown once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", security(("session" = [])),
    request_body = schemas::ApiKeyCreate,
    responses(
        (status = 201, description = "The key and its secret", body = schemas::ApiKeyCreated),
        (status = 404, description = "not-found", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "already-redeemed, not-approved, step-up-mismatch, too-many-api-keys, policy-refused", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 410, description = "approval-expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let step_up_id = take_step_up_id(&mut body)?;
    let created = api_keys::create(&app, who.user_id, step_up_id, &body, &client).await?;
    let mut view = api_keys::view(&created.key);
    view["secret"] = json!(created.secret.expose_secret());
    Ok((StatusCode::CREATED, Json(view)))
}

/// Removes and returns the `step_up_id` member of an API-key creation body;
/// the rest are the details to create.
pub(crate) fn take_step_up_id(body: &mut Value) -> ApiResult<Uuid> {
    body.as_object_mut()
        .and_then(|o| o.remove("step_up_id"))
        .and_then(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
        .ok_or_else(|| {
            ApiError::invalid(
                "step_up_id",
                "the id of the approved api_key.create step-up is required",
            )
        })
}

/// The user's API keys.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", security(("session" = [])),
    responses((status = 200, description = "Keys", body = schemas::ApiKeyList)))]
async fn list(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let keys = crate::store::api_keys::for_user(&app.db, who.user_id).await?;
    Ok(Json(
        json!({ "api_keys": keys.iter().map(api_keys::view).collect::<Vec<_>>() }),
    ))
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
    responses((status = 200, description = "How many were revoked", body = schemas::Revoked)))]
async fn revoke_all(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<Value>> {
    let n = api_keys::revoke(&app, who.user_id, None, &client).await?;
    Ok(Json(json!({ "revoked": n })))
}

/// A key presented to a gateway.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    /// The presented key (`kw_api_…`).
    #[schema(format = Password)]
    pub(crate) key: String,
    /// `read`, `trade` or `withdraw`.
    pub(crate) scope: String,
    /// The caller's address (IPv4 or IPv6).
    pub(crate) client_ip: String,
}

impl VerifyRequest {
    /// Checks the scope and returns the client address.
    pub(crate) fn checked_ip(&self) -> ApiResult<IpAddr> {
        if !crate::stepup::details::API_KEY_SCOPES.contains(&self.scope.as_str()) {
            return Err(ApiError::invalid(
                "scope",
                "must be read, trade or withdraw",
            ));
        }
        self.client_ip
            .trim()
            .parse()
            .map_err(|_| ApiError::invalid("client_ip", "must be an IPv4 or IPv6 address"))
    }
}

/// Checks a user API key for a scope from a client address (service
/// `apikeys:verify`).
#[utoipa::path(post, path = "/v1/api-keys/verify", tag = "api-keys", security(("service" = [])),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The key is good for this", body = schemas::VerifiedKey),
        (status = 403, description = "api-key-refused", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn verify(
    State(app): State<AppState>,
    service: Service,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> ApiResult<Json<Value>> {
    let result = verify_key(app, service, body).await;
    crate::metrics::api_key_verification(crate::metrics::outcome(&result));
    result
}

async fn verify_key(
    app: AppState,
    service: Service,
    body: VerifyRequest,
) -> ApiResult<Json<Value>> {
    service.require("apikeys:verify")?;
    let ip = body.checked_ip()?;
    match key_verify::verify(&app, &body.key, &body.scope, ip).await? {
        Ok(ok) => {
            let k = &ok.key;
            if body.scope == "withdraw" {
                let detail =
                    json!({ "key_id": k.id, "prefix": k.prefix, "client_ip": ip.to_string() });
                let event = audit::Event {
                    user_id: Some(k.user_id),
                    event: "api_key.used_for_withdrawal",
                    detail,
                    ip: Some(&body.client_ip),
                };
                audit::append_alone(&app.db, &event, app.clock.now()).await?;
            }
            Ok(Json(json!({
                "user_id": k.user_id, "key_id": k.id, "scopes": k.scopes, "expires_at": k.expires_at.map(rfc3339),
            })))
        }
        Err((refusal, key)) => {
            let event = match refusal {
                Refusal::IpNotAllowed => Some("api_key.refused_ip"),
                Refusal::Expired => Some("api_key.expired"),
                _ => None,
            };
            if let (Some(event), Some(k)) = (event, key) {
                let detail = json!({ "key_id": k.id, "prefix": k.prefix, "client_ip": ip.to_string(), "scope": body.scope });
                let e = audit::Event {
                    user_id: Some(k.user_id),
                    event,
                    detail,
                    ip: Some(&body.client_ip),
                };
                audit::append_alone(&app.db, &e, app.clock.now()).await?;
            }
            Err(ApiError::ApiKeyRefused(refusal.reason()))
        }
    }
}
