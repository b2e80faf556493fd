//! The user's withdrawal controls (self-freeze, address allow-list) and the
//! operator's emergency freeze.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client, Service};
use crate::flows::stepup::{self, Requester};
use crate::flows::withdrawals;
use crate::state::AppState;
use crate::stepup::details::canonicalise;
use crate::store::controls;

/// Withdrawal-control routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/freeze", post(freeze))
        .route("/v1/unfreeze", post(unfreeze))
        .route("/v1/withdrawal-status", get(my_status))
        .route("/v1/addresses", get(list_addresses).post(add_address))
        .route("/v1/addresses/{id}", delete(remove_address))
}

/// The operator's routes (admin service key).
pub fn service_router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/withdrawals", get(global_status))
        .route("/v1/admin/withdrawals/freeze", post(global_freeze))
        .route("/v1/admin/withdrawals/unfreeze", post(global_unfreeze))
}

async fn freeze(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<Value>> {
    withdrawals::self_freeze(&app, who.user_id, &client).await?;
    my_status(State(app), who).await
}

async fn unfreeze(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<Json<Value>> {
    who.require_fresh_key(&app)?;
    withdrawals::self_unfreeze(&app, who.user_id, &client).await?;
    my_status(State(app), who).await
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAddress {
    network: String,
    address: String,
    #[serde(default)]
    label: Option<String>,
}

async fn list_addresses(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let now = app.clock.now();
    let rows = controls::addresses(&app.db, who.user_id).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({ "id": a.id, "network": a.network, "address": a.address, "label": a.label,
                    "created_at": rfc3339(a.created_at), "usable_from": rfc3339(a.usable_from), "usable": a.usable_from <= now })
        })
        .collect();
    Ok(Json(json!({ "addresses": list })))
}

/// Adding an address needs a key approval: this creates an `address.add`
/// step-up for the user to approve; the address is listed on approval.
async fn add_address(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<NewAddress>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let details = json!({ "network": body.network, "address": body.address, "label": body.label });
    let canonical = canonicalise("address.add", &details, &app.config.assets)?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreezeBody {
    reason: String,
}

async fn global_status(State(app): State<AppState>, service: Service) -> ApiResult<Json<Value>> {
    service.require("admin")?;
    let (frozen, reason, changed_at) = controls::global_freeze_now(&app.db).await?;
    Ok(Json(
        json!({ "frozen": frozen, "reason": reason, "changed_at": rfc3339(changed_at) }),
    ))
}

async fn global_freeze(
    State(app): State<AppState>,
    service: Service,
    client: Client,
    ApiJson(body): ApiJson<FreezeBody>,
) -> ApiResult<Json<Value>> {
    service.require("admin")?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.len() > 200 {
        return Err(ApiError::invalid("reason", "must be 1-200 characters"));
    }
    withdrawals::set_global_freeze(
        &app,
        true,
        Some(reason),
        &format!("service:{}", service.0.name),
        Some(&client.ip),
    )
    .await?;
    global_status(State(app), service).await
}

async fn global_unfreeze(
    State(app): State<AppState>,
    service: Service,
    client: Client,
) -> ApiResult<Json<Value>> {
    service.require("admin")?;
    withdrawals::set_global_freeze(
        &app,
        false,
        None,
        &format!("service:{}", service.0.name),
        Some(&client.ip),
    )
    .await?;
    global_status(State(app), service).await
}
