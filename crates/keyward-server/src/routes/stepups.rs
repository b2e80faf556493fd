//! Step-up routes. Services create, read and redeem step-ups with their
//! bearer key; the user approves in the browser (session) — or the service
//! forwards the assertion it got from its own page (API mode, bearer key).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client, Service, bearer};
use crate::flows::approval;
use crate::flows::stepup::{self, Requester};
use crate::routes::signin::CeremonyAnswer;
use crate::state::AppState;
use crate::stepup::details::canonicalise;
use crate::store::step_ups;

/// Routes a browser session or a service may call (Origin-checked for browsers).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/step-ups/{id}/summary", get(summary))
        .route("/v1/step-ups/{id}/options", post(options))
        .route("/v1/step-ups/{id}/verify", post(verify))
}

/// Service-only routes (bearer key; no cookies, so no Origin check).
pub fn service_router() -> Router<AppState> {
    Router::new()
        .route("/v1/step-ups", post(create))
        .route("/v1/step-ups/{id}", get(status))
        .route("/v1/step-ups/{id}/redeem", post(redeem))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateStepUp {
    /// User id or username.
    user: String,
    action: String,
    details: Value,
}

fn step_up_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("step-up"))
}

async fn create(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    ApiJson(body): ApiJson<CreateStepUp>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    service.require("stepup:create")?;
    let canonical = canonicalise(&body.action, &body.details, &app.config.assets)?;
    let user_id = stepup::resolve_user(&app, &body.user).await?;
    let (row, existing) = stepup::create(
        &app,
        Requester::Service(service.0.id),
        user_id,
        &canonical,
        &client.ip,
    )
    .await?;
    let code = if existing {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((code, Json(stepup::view(&app, &row))))
}

async fn status(
    State(app): State<AppState>,
    service: Service,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    service.require("stepup:read")?;
    let row = step_ups::get(&app.db, step_up_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("step-up"))?;
    Ok(Json(stepup::view(&app, &row)))
}

/// Who may answer a step-up's challenge: the signed-in user it belongs to,
/// or a service with the `stepup:approve` scope (API mode).
enum Approver {
    User(Uuid),
    Service,
}

impl FromRequestParts<AppState> for Approver {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Self> {
        if bearer(parts).is_some() {
            let service = Service::from_request_parts(parts, app).await?;
            service.require("stepup:approve")?;
            return Ok(Self::Service);
        }
        let user = SignedIn::from_request_parts(parts, app).await?;
        Ok(Self::User(user.user_id))
    }
}

impl Approver {
    fn owner(&self) -> Option<Uuid> {
        match self {
            Self::User(id) => Some(*id),
            Self::Service => None,
        }
    }
}

/// What the confirmation page shows the signed-in owner before the touch:
/// the exact details, the anti-phishing phrase and the time left.
async fn summary(
    State(app): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = step_ups::get(&app.db, step_up_id(&id)?)
        .await?
        .filter(|r| r.user_id == who.user_id)
        .ok_or(ApiError::NotFound("step-up"))?;
    let phrase = crate::store::users::phrase(&app.db, who.user_id).await?;
    let seconds_left = ((row.expires_at - app.clock.now()) / 1000).max(0);
    Ok(Json(
        json!({ "step_up": stepup::view(&app, &row), "anti_phishing_phrase": phrase, "seconds_left": seconds_left }),
    ))
}

async fn options(
    State(app): State<AppState>,
    who: Approver,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        approval::options(&app, step_up_id(&id)?, who.owner()).await?,
    ))
}

async fn verify(
    State(app): State<AppState>,
    who: Approver,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<Json<Value>> {
    let id = step_up_id(&id)?;
    Ok(Json(
        approval::approve(
            &app,
            id,
            who.owner(),
            body.ceremony,
            body.credential,
            &client,
        )
        .await?,
    ))
}

async fn redeem(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    service.require("stepup:redeem")?;
    let row = stepup::redeem(&app, service.0.id, step_up_id(&id)?, &client.ip).await?;
    let mut view = stepup::view(&app, &row);
    view["user_verified"] = json!(row.user_verified);
    view["credential_key_id"] = json!(row.credential_key_id);
    Ok(Json(view))
}
