//! The operator's admin API (service keys with the `admin` scope): account
//! locks (immediate), and the two-person rule — unlocking an account and an
//! operator-assisted recovery are requests a second operator approves.
//! Lifting the global freeze is a request too (`withdrawal_controls`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::Problem;
use keyward_api::operators::{
    OperatorAction, OperatorDecision, OperatorReason, OperatorRequest, OperatorRequestList,
};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client, Service};
use crate::flows::admin;
use crate::flows::operator_requests::{self, Operator, Origin};
use crate::state::AppState;

/// The admin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lock))
        .routes(routes!(unlock))
        .routes(routes!(assisted_recovery))
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(approve))
        .routes(routes!(cancel))
}

/// The operator behind an admin service key.
pub fn operator(service: &Service) -> ApiResult<Operator> {
    service.require("admin")?;
    Ok(Operator {
        id: service.0.id,
        name: service.0.name.clone(),
    })
}

/// Asks for a loosening action; 202 with the request waiting for a second
/// operator.
pub async fn ask(
    app: &AppState,
    service: &Service,
    client: &Client,
    action: OperatorAction,
    username: Option<&str>,
    reason: &str,
) -> ApiResult<(StatusCode, Json<OperatorRequest>)> {
    let op = operator(service)?;
    let origin = Origin {
        operator: &op,
        ip: Some(&client.ip),
        now: app.clock.now(),
    };
    let request =
        operator_requests::ask(&app.db, &app.config, &origin, action, username, reason).await?;
    Ok((StatusCode::ACCEPTED, Json(request)))
}

/// Whether an account lock changed anything.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AccountLocked {
    /// False if the account was locked already.
    locked_now: bool,
}

/// Locks an account at once (one operator is enough: it tightens): no
/// sign-in or approval, every session ends, its API keys stop verifying.
#[utoipa::path(post, path = "/v1/admin/users/{username}/lock", tag = "operators", security(("service" = [])),
    params(("username" = String, Path, description = "The account")),
    responses(
        (status = 200, description = "Locked", body = AccountLocked),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn lock(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    Path(username): Path<String>,
) -> ApiResult<Json<AccountLocked>> {
    let op = operator(&service)?;
    let by = format!("service:{}", op.name);
    let now = app.clock.now();
    let locked = admin::lock_account(&app.db, &username, &by, Some(&client.ip), now).await?;
    Ok(Json(AccountLocked { locked_now: locked }))
}

/// Asks to unlock an account (lift the operator lock, clear its failed
/// attempts): waits for a second operator.
#[utoipa::path(post, path = "/v1/admin/users/{username}/unlock", tag = "operators", security(("service" = [])),
    params(("username" = String, Path, description = "The account")),
    request_body = OperatorReason,
    responses(
        (status = 202, description = "Waiting for a second operator", body = OperatorRequest),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "operator-request-pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unlock(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    Path(username): Path<String>,
    ApiJson(body): ApiJson<OperatorReason>,
) -> ApiResult<(StatusCode, Json<OperatorRequest>)> {
    let action = OperatorAction::UserUnlock;
    ask(
        &app,
        &service,
        &client,
        action,
        Some(&username),
        &body.reason,
    )
    .await
}

/// Asks for an operator-assisted recovery of an account whose owner has
/// neither keys nor recovery codes, after the exchange proved who they
/// are. Once a second operator approves, it runs like a recovery the user
/// started: any of the account's keys can cancel it during the delay.
#[utoipa::path(post, path = "/v1/admin/users/{username}/recovery", tag = "operators", security(("service" = [])),
    params(("username" = String, Path, description = "The account")),
    request_body = OperatorReason,
    responses(
        (status = 202, description = "Waiting for a second operator", body = OperatorRequest),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "operator-request-pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn assisted_recovery(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    Path(username): Path<String>,
    ApiJson(body): ApiJson<OperatorReason>,
) -> ApiResult<(StatusCode, Json<OperatorRequest>)> {
    let action = OperatorAction::AssistedRecovery;
    ask(
        &app,
        &service,
        &client,
        action,
        Some(&username),
        &body.reason,
    )
    .await
}

/// Requests waiting for a second operator, and those of the last week.
#[utoipa::path(get, path = "/v1/admin/requests", tag = "operators", security(("service" = [])),
    responses((status = 200, description = "Newest first", body = OperatorRequestList)))]
async fn list(
    State(app): State<AppState>,
    service: Service,
) -> ApiResult<Json<OperatorRequestList>> {
    operator(&service)?;
    let requests = operator_requests::list(&app.db, app.clock.now()).await?;
    Ok(Json(OperatorRequestList { requests }))
}

/// One request.
#[utoipa::path(get, path = "/v1/admin/requests/{id}", tag = "operators", security(("service" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = OperatorRequest),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get(
    State(app): State<AppState>,
    service: Service,
    Path(id): Path<String>,
) -> ApiResult<Json<OperatorRequest>> {
    operator(&service)?;
    let id = request_id(&id)?;
    Ok(Json(
        operator_requests::get(&app.db, id, app.clock.now()).await?,
    ))
}

/// Approves another operator's request and carries it out. For an assisted
/// recovery the answer holds the token to hand to the user, shown once.
#[utoipa::path(post, path = "/v1/admin/requests/{id}/approve", tag = "operators", security(("service" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "Approved and carried out", body = OperatorDecision),
        (status = 403, description = "same-operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "operator-request-closed, recovery-pending", body = Problem, content_type = "application/problem+json"),
    ))]
async fn approve(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Json<OperatorDecision>> {
    let op = operator(&service)?;
    let id = request_id(&id)?;
    let origin = Origin {
        operator: &op,
        ip: Some(&client.ip),
        now: app.clock.now(),
    };
    let decision = operator_requests::approve(&app.db, &app.config, &origin, id).await?;
    app.verifier.invalidate();
    Ok(Json(decision))
}

/// Cancels a pending request (any operator, the one who asked too).
#[utoipa::path(post, path = "/v1/admin/requests/{id}/cancel", tag = "operators", security(("service" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "Cancelled", body = OperatorDecision),
        (status = 404, description = "not-found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "operator-request-closed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Json<OperatorDecision>> {
    let op = operator(&service)?;
    let id = request_id(&id)?;
    let origin = Origin {
        operator: &op,
        ip: Some(&client.ip),
        now: app.clock.now(),
    };
    Ok(Json(operator_requests::cancel(&app.db, &origin, id).await?))
}

fn request_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("operator request"))
}
