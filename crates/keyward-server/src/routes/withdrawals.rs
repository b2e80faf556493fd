//! The user's withdrawal controls (self-freeze, address allow-list) and the
//! operator's emergency freeze.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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
use crate::flows::stepup::{self, Requester};
use crate::flows::withdrawals;
use crate::routes::schemas;
use crate::state::AppState;
use crate::stepup::details::canonicalise;
use crate::store::controls;

/// Withdrawal-control routes.
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
    responses((status = 200, description = "Withdrawal status", body = schemas::WithdrawalStatus)))]
async fn freeze(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<Value>> {
    withdrawals::self_freeze(&app, who.user_id, &client).await?;
    my_status(State(app), who).await
}

/// Unfreezes (needs a fresh key assertion) and starts a hold.
#[utoipa::path(post, path = "/v1/unfreeze", tag = "withdrawals", security(("session" = [])),
    responses(
        (status = 200, description = "Withdrawal status", body = schemas::WithdrawalStatus),
        (status = 403, description = "reauth-required", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn unfreeze(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<Value>> {
    who.require_fresh_key(&app)?;
    withdrawals::self_unfreeze(&app, who.user_id, &client).await?;
    my_status(State(app), who).await
}

/// The user's freeze and hold.
#[utoipa::path(get, path = "/v1/withdrawal-status", tag = "withdrawals", security(("session" = [])),
    responses((status = 200, description = "Withdrawal status", body = schemas::WithdrawalStatus)))]
async fn my_status(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let policy = crate::store::users::policy_now(&app.db, who.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let now = app.clock.now();
    let hold = policy.hold_until.filter(|t| *t > now);
    Ok(Json(json!({
        "frozen": policy.frozen_at.is_some(),
        "frozen_at": policy.frozen_at.map(rfc3339),
        "held_until": hold.map(rfc3339),
        "hold_reason": hold.and(policy.hold_reason),
    })))
}

/// An address to allow-list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAddress {
    /// A configured network, e.g. `bitcoin`.
    pub(crate) network: String,
    /// The address, valid for the network.
    pub(crate) address: String,
    /// Memo / destination tag, for networks that use one: part of the
    /// entry, so a withdrawal must carry the same.
    #[serde(default)]
    pub(crate) memo: Option<String>,
    /// The user's label.
    #[serde(default)]
    pub(crate) label: Option<String>,
}

impl NewAddress {
    /// The `address.add` step-up details.
    pub(crate) fn details(&self) -> Value {
        let mut d =
            json!({ "network": self.network, "address": self.address, "label": self.label });
        if let Some(memo) = &self.memo {
            d["memo"] = json!(memo);
        }
        d
    }
}

/// The withdrawal allow-list.
#[utoipa::path(get, path = "/v1/addresses", tag = "withdrawals", security(("session" = [])),
    responses((status = 200, description = "Addresses", body = schemas::AddressList)))]
async fn list_addresses(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let now = app.clock.now();
    let rows = controls::addresses(&app.db, who.user_id).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({ "id": a.id, "network": a.network, "address": a.address, "memo": a.memo, "label": a.label,
                    "created_at": rfc3339(a.created_at), "usable_from": rfc3339(a.usable_from), "usable": a.usable_from <= now })
        })
        .collect();
    Ok(Json(json!({ "addresses": list })))
}

/// Adding an address needs a key approval: this creates an `address.add`
/// step-up for the user to approve; the address is listed on approval.
#[utoipa::path(post, path = "/v1/addresses", tag = "withdrawals", security(("session" = [])),
    request_body = NewAddress,
    responses(
        (status = 202, description = "An address.add step-up to approve with a key", body = schemas::StepUpAccepted),
        (status = 409, description = "policy-refused", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn add_address(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<NewAddress>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let canonical = canonicalise("address.add", &body.details(), &app.config.assets)?;
    withdrawals::check_address(&app, &canonical)?;
    let (row, _) =
        stepup::create(&app, Requester::User, who.user_id, &canonical, &client.ip).await?;
    if row.status != "pending" {
        return Err(ApiError::PolicyRefused {
            reason: row.reason.unwrap_or_else(|| row.status.clone()),
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "step_up": stepup::view(&app, &row) })),
    ))
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
    withdrawals::remove_address(&app, who.user_id, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Why the operator freezes withdrawals.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FreezeBody {
    /// 1-200 characters.
    pub(crate) reason: String,
}

impl FreezeBody {
    /// The trimmed reason, 1-200 bytes.
    pub(crate) fn reason(&self) -> ApiResult<&str> {
        let reason = self.reason.trim();
        if reason.is_empty() || reason.len() > 200 {
            return Err(ApiError::invalid("reason", "must be 1-200 characters"));
        }
        Ok(reason)
    }
}

/// The operator's freeze (service `admin`).
#[utoipa::path(get, path = "/v1/admin/withdrawals", tag = "withdrawals", security(("service" = [])),
    responses((status = 200, description = "Freeze state", body = schemas::GlobalFreeze)))]
async fn global_status(State(app): State<AppState>, service: Service) -> ApiResult<Json<Value>> {
    service.require("admin")?;
    let (frozen, reason, changed_at) = controls::global_freeze_now(&app.db).await?;
    Ok(Json(
        json!({ "frozen": frozen, "reason": reason, "changed_at": rfc3339(changed_at) }),
    ))
}

/// Freezes all withdrawals (service `admin`).
#[utoipa::path(post, path = "/v1/admin/withdrawals/freeze", tag = "withdrawals", security(("service" = [])),
    request_body = FreezeBody,
    responses((status = 200, description = "Freeze state", body = schemas::GlobalFreeze)))]
async fn global_freeze(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    ApiJson(body): ApiJson<FreezeBody>,
) -> ApiResult<Json<Value>> {
    service.require("admin")?;
    let reason = body.reason()?;
    withdrawals::set_global_freeze(
        &app.db,
        app.clock.now(),
        true,
        Some(reason),
        &format!("service:{}", service.0.name),
        Some(&client.ip),
    )
    .await?;
    global_status(State(app), service).await
}

/// Lifts the operator's freeze (service `admin`).
#[utoipa::path(post, path = "/v1/admin/withdrawals/unfreeze", tag = "withdrawals", security(("service" = [])),
    responses((status = 200, description = "Freeze state", body = schemas::GlobalFreeze)))]
async fn global_unfreeze(
    State(app): State<AppState>,
    service: Service,
    client: Client,
) -> ApiResult<Json<Value>> {
    service.require("admin")?;
    withdrawals::set_global_freeze(
        &app.db,
        app.clock.now(),
        false,
        None,
        &format!("service:{}", service.0.name),
        Some(&client.ip),
    )
    .await?;
    global_status(State(app), service).await
}
