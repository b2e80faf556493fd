//! Step-up routes. Services create, read and redeem step-ups with their
//! bearer key; the user approves in the browser (session) — or the service
//! forwards the assertion it got from its own page (API mode, bearer key).

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use keyward_api::Problem;
use keyward_api::keys::CeremonyAnswer;
use keyward_api::step_ups::{
    Approved, CreateStepUp, Redeemed, StepUp, StepUpOptions, StepUpSummary,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::domain::details::{Action, canonicalise};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client, Service, bearer};
use crate::flows::assertion;
use crate::flows::step_ups::{self, Party, Requester, approval};
use crate::state::AppState;

/// Routes a browser session or a service may call (Origin-checked for browsers).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(decline))
        .routes(routes!(options))
        .routes(routes!(verify))
}

/// Service-only routes (bearer key; no cookies, so no Origin check).
pub fn service_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(status))
        .routes(routes!(redeem))
        .routes(routes!(key_chain))
}

/// A user's key chain (for an exchange that follows it from its pin before
/// an approval arrives; each approval's evidence carries it too).
#[utoipa::path(get, path = "/v1/users/{username}/key-chain", tag = "step-ups", security(("service" = [])),
    params(("username" = String, Path, description = "The user's username")),
    responses(
        (status = 200, description = "The chain, genesis first", body = keyward_api::keys::KeyChain),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn key_chain(
    State(app): State<AppState>,
    service: Service,
    Path(username): Path<String>,
) -> ApiResult<Json<keyward_api::keys::KeyChain>> {
    service.require("stepup:read")?;
    Ok(Json(
        crate::flows::key_chain::of_user(&app, &username).await?,
    ))
}

fn step_up_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("step-up"))
}

/// Asks for a key approval; decided at once as `pending`, `held` or
/// `denied`. A repeated `client_reference` returns the same step-up (200).
#[utoipa::path(post, path = "/v1/step-ups", tag = "step-ups", security(("service" = [])),
    request_body = CreateStepUp,
    responses(
        (status = 201, description = "Created (status pending, held or denied)", body = StepUp),
        (status = 200, description = "The step-up created before with this client_reference", body = StepUp),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "idempotency-conflict", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    ApiJson(body): ApiJson<CreateStepUp>,
) -> ApiResult<(StatusCode, Json<StepUp>)> {
    service.require("stepup:create")?;
    // Allow-list additions and API keys are the user's own, asked for in
    // their signed-in session: a payout service asks for withdrawals only.
    if body.action != Action::Withdrawal.as_str() {
        return Err(ApiError::invalid(
            "action",
            "a service may ask only for `withdrawal` approvals",
        ));
    }
    let canonical = canonicalise(&body.action, &body.details, &app.config.assets)?;
    let user_id = step_ups::resolve_user(&app, &body.user).await?;
    let (row, existing) = step_ups::create(
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
    Ok((code, Json(step_ups::view(&app, &row))))
}

/// A step-up's status.
#[utoipa::path(get, path = "/v1/step-ups/{id}", tag = "step-ups", security(("service" = [])),
    params(("id" = Uuid, Path, description = "Step-up id")),
    responses((status = 200, description = "The step-up", body = StepUp)))]
async fn status(
    State(app): State<AppState>,
    service: Service,
    Path(id): Path<String>,
) -> ApiResult<Json<StepUp>> {
    service.require("stepup:read")?;
    let row = step_ups::get_for(&app, step_up_id(&id)?, Party::Service(service.0.id)).await?;
    Ok(Json(step_ups::view(&app, &row)))
}

/// Who may answer a step-up's challenge: the signed-in user it belongs to,
/// or a service with the `stepup:approve` scope (API mode). A service may
/// state the end user's address in [`END_USER_IP`]: failures then count
/// against that address, and never against the service's own.
enum Approver {
    User(Uuid),
    Service {
        key_id: Uuid,
        user_ip: Option<String>,
    },
}

/// The header in which a service states the end user's address (API mode).
pub const END_USER_IP: &str = "keyward-end-user-ip";

impl FromRequestParts<AppState> for Approver {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Self> {
        if bearer(parts).is_some() {
            let service = Service::from_request_parts(parts, app).await?;
            service.require("stepup:approve")?;
            let user_ip = match parts.headers.get(END_USER_IP) {
                None => None,
                Some(v) => Some(
                    v.to_str()
                        .ok()
                        .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
                        .ok_or_else(|| {
                            ApiError::invalid("Keyward-End-User-IP", "not an IP address")
                        })?
                        .to_canonical()
                        .to_string(),
                ),
            };
            return Ok(Self::Service {
                key_id: service.0.id,
                user_ip,
            });
        }
        let user = SignedIn::from_request_parts(parts, app).await?;
        Ok(Self::User(user.user_id))
    }
}

impl Approver {
    fn party(&self) -> Party {
        match self {
            Self::User(id) => Party::User(*id),
            Self::Service { key_id, .. } => Party::Service(*key_id),
        }
    }

    fn sender(&self) -> assertion::Sender<'_> {
        match self {
            Self::User(_) => assertion::Sender::Browser,
            Self::Service { user_ip, .. } => assertion::Sender::Service {
                user_ip: user_ip.as_deref(),
            },
        }
    }
}

/// What the confirmation page shows the signed-in owner before the touch:
/// the exact details, the anti-phishing phrase and the time left.
#[utoipa::path(get, path = "/v1/step-ups/{id}/summary", tag = "step-ups", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Step-up id")),
    responses((status = 200, description = "Summary", body = StepUpSummary)))]
async fn summary(
    State(app): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<StepUpSummary>> {
    Ok(Json(
        step_ups::summary(&app, step_up_id(&id)?, who.user_id).await?,
    ))
}

/// The signed-in owner declines a pending step-up (the confirmation page's
/// Decline): it can no longer be approved; the exchange sees `declined`.
#[utoipa::path(post, path = "/v1/step-ups/{id}/decline", tag = "step-ups", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Step-up id")),
    responses(
        (status = 200, description = "Declined", body = StepUp),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "step-up-not-pending", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "step-up-expired", body = Problem, content_type = "application/problem+json"),
    ))]
async fn decline(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Json<StepUp>> {
    let row = step_ups::decline(&app, step_up_id(&id)?, who.user_id, &client.ip).await?;
    Ok(Json(step_ups::view(&app, &row)))
}

/// The key challenge for a step-up, bound to its details: for the signed-in
/// owner, or a service with `stepup:approve` (API mode).
#[utoipa::path(post, path = "/v1/step-ups/{id}/options", tag = "step-ups",
    security(("session" = []), ("service" = [])),
    params(("id" = Uuid, Path, description = "Step-up id")),
    responses(
        (status = 200, description = "WebAuthn request options", body = StepUpOptions),
        (status = 409, description = "step-up-not-pending", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "step-up-expired", body = Problem, content_type = "application/problem+json"),
    ))]
async fn options(
    State(app): State<AppState>,
    who: Approver,
    Path(id): Path<String>,
) -> ApiResult<Json<StepUpOptions>> {
    Ok(Json(
        approval::options(&app, step_up_id(&id)?, who.party()).await?,
    ))
}

/// Verifies the key assertion and approves the step-up.
#[utoipa::path(post, path = "/v1/step-ups/{id}/verify", tag = "step-ups",
    security(("session" = []), ("service" = [])),
    params(("id" = Uuid, Path, description = "Step-up id"),
        ("Keyward-End-User-IP" = Option<String>, Header, description = "API mode: the end user's address; failed assertions count against it (never against the service's)")),
    request_body = CeremonyAnswer,
    responses(
        (status = 200, description = "Approved", body = Approved),
        (status = 400, description = "ceremony-refused", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ceremony-unknown, step-up-not-pending, policy-refused", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "step-up-expired, ceremony-expired", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify(
    State(app): State<AppState>,
    who: Approver,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<Json<Approved>> {
    let id = step_up_id(&id)?;
    let result = approval::approve(
        &app,
        id,
        who.party(),
        body.ceremony,
        body.credential,
        &client,
        who.sender(),
    )
    .await;
    crate::metrics::ceremony("step_up", crate::metrics::outcome(&result));
    Ok(Json(result?))
}

/// Redeems an approval once, atomically, after the policy agrees again.
#[utoipa::path(post, path = "/v1/step-ups/{id}/redeem", tag = "step-ups", security(("service" = [])),
    params(("id" = Uuid, Path, description = "Step-up id")),
    responses(
        (status = 200, description = "The approved details", body = Redeemed),
        (status = 409, description = "already-redeemed, not-approved, policy-refused", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "approval-expired", body = Problem, content_type = "application/problem+json"),
    ))]
async fn redeem(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Json<Redeemed>> {
    service.require("stepup:redeem")?;
    let result = step_ups::redeem(&app, service.0.id, step_up_id(&id)?, &client.ip).await;
    crate::metrics::redeem(crate::metrics::outcome(&result));
    let row = result?;
    Ok(Json(Redeemed {
        step_up: step_ups::view(&app, &row),
        user_verified: row.user_verified,
        credential_key_id: row.credential_key_id,
        evidence: step_ups::evidence_of(&app, &row).await?,
    }))
}
