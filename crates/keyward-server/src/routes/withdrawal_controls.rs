//! The user's withdrawal controls (self-freeze, address allow-list) and the
//! operator's emergency freeze.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyward_api::Problem;
use keyward_api::operators::{OperatorAction, OperatorReason, OperatorRequest};
use keyward_api::step_ups::StepUpAccepted;
use keyward_api::withdrawals::{
    AddressList, FreezeRequest, GlobalFreeze, NewAddress, WithdrawalStatus,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::domain::names::freeze_reason;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client, Service};
use crate::flows::{step_ups, withdrawal_controls};
use crate::routes::operators;
use crate::state::AppState;

/// The user's routes (session).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
        .routes(routes!(my_status))
        .routes(routes!(list_addresses, add_address))
        .routes(routes!(remove_address))
}

/// The operator's routes (admin service key).
pub fn service_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(global_status))
        .routes(routes!(global_freeze))
        .routes(routes!(global_unfreeze))
}

/// Freezes the user's withdrawals at once (no key needed).
#[utoipa::path(post, path = "/v1/freeze", tag = "withdrawals", security(("session" = [])),
    responses((status = 200, description = "Withdrawal status", body = WithdrawalStatus)))]
async fn freeze(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<WithdrawalStatus>> {
    withdrawal_controls::self_freeze(&app, who.user_id, &client).await?;
    my_status(State(app), who).await
}

/// Unfreezes (needs a fresh key assertion) and starts a hold.
#[utoipa::path(post, path = "/v1/unfreeze", tag = "withdrawals", security(("session" = [])),
    responses(
        (status = 200, description = "Withdrawal status", body = WithdrawalStatus),
        (status = 403, description = "reauth-required", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unfreeze(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<WithdrawalStatus>> {
    who.require_fresh_key(&app)?;
    withdrawal_controls::self_unfreeze(&app, who.user_id, &client).await?;
    my_status(State(app), who).await
}

/// The user's freeze and hold.
#[utoipa::path(get, path = "/v1/withdrawal-status", tag = "withdrawals", security(("session" = [])),
    responses((status = 200, description = "Withdrawal status", body = WithdrawalStatus)))]
async fn my_status(
    State(app): State<AppState>,
    who: SignedIn,
) -> ApiResult<Json<WithdrawalStatus>> {
    Ok(Json(withdrawal_controls::status(&app, who.user_id).await?))
}

/// The withdrawal allow-list.
#[utoipa::path(get, path = "/v1/addresses", tag = "withdrawals", security(("session" = [])),
    responses((status = 200, description = "Addresses", body = AddressList)))]
async fn list_addresses(
    State(app): State<AppState>,
    who: SignedIn,
) -> ApiResult<Json<AddressList>> {
    Ok(Json(
        withdrawal_controls::addresses(&app, who.user_id).await?,
    ))
}

/// Adding an address needs a key approval: this creates an `address.add`
/// step-up for the user to approve; the address is listed on approval.
#[utoipa::path(post, path = "/v1/addresses", tag = "withdrawals", security(("session" = [])),
    request_body = NewAddress,
    responses(
        (status = 202, description = "An address.add step-up to approve with a key", body = StepUpAccepted),
        (status = 409, description = "policy-refused", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_address(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<NewAddress>,
) -> ApiResult<(StatusCode, Json<StepUpAccepted>)> {
    let row = withdrawal_controls::request_address(&app, who.user_id, &body, &client).await?;
    let step_up = step_ups::view(&app, &row);
    Ok((StatusCode::ACCEPTED, Json(StepUpAccepted { step_up })))
}

/// Removes an address at once.
#[utoipa::path(delete, path = "/v1/addresses/{id}", tag = "withdrawals", security(("session" = [])),
    params(("id" = Uuid, Path, description = "Address entry id")),
    responses((status = 204, description = "Removed")))]
async fn remove_address(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("address"))?;
    withdrawal_controls::remove_address(&app, who.user_id, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The operator's freeze (service `admin`).
#[utoipa::path(get, path = "/v1/admin/withdrawals", tag = "withdrawals", security(("service" = [])),
    responses((status = 200, description = "Freeze state", body = GlobalFreeze)))]
async fn global_status(
    State(app): State<AppState>,
    service: Service,
) -> ApiResult<Json<GlobalFreeze>> {
    service.require("admin")?;
    Ok(Json(withdrawal_controls::global_status(&app.db).await?))
}

/// Freezes all withdrawals (service `admin`).
#[utoipa::path(post, path = "/v1/admin/withdrawals/freeze", tag = "withdrawals", security(("service" = [])),
    request_body = FreezeRequest,
    responses((status = 200, description = "Freeze state", body = GlobalFreeze)))]
async fn global_freeze(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    ApiJson(body): ApiJson<FreezeRequest>,
) -> ApiResult<Json<GlobalFreeze>> {
    service.require("admin")?;
    let reason = freeze_reason(&body.reason)?;
    let by = format!("service:{}", service.0.name);
    let now = app.clock.now();
    withdrawal_controls::set_global_freeze(&app.db, now, true, Some(reason), &by, Some(&client.ip))
        .await?;
    Ok(Json(withdrawal_controls::global_status(&app.db).await?))
}

/// Asks to lift the operator's freeze (service `admin`): it waits for a
/// second operator (`/v1/admin/requests/{id}/approve`).
#[utoipa::path(post, path = "/v1/admin/withdrawals/unfreeze", tag = "withdrawals", security(("service" = [])),
    request_body = OperatorReason,
    responses(
        (status = 202, description = "Waiting for a second operator", body = OperatorRequest),
        (status = 409, description = "operator-request-pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
    ))]
async fn global_unfreeze(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    ApiJson(body): ApiJson<OperatorReason>,
) -> ApiResult<(StatusCode, Json<OperatorRequest>)> {
    let action = OperatorAction::GlobalUnfreeze;
    operators::ask(&app, &service, &client, action, None, &body.reason).await
}
