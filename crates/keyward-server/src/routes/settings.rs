//! The user's settings: the anti-phishing phrase shown on Keyward's
//! confirmation page (a copied page cannot know it).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::routes::schemas;
use crate::state::AppState;
use crate::store::{audit, users};

/// Settings routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, write))
}

/// New settings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// 4-64 characters, no control characters.
    pub(crate) anti_phishing_phrase: String,
}

/// The checked, trimmed phrase of `body`.
pub(crate) fn phrase(body: &Settings) -> ApiResult<&str> {
    let phrase = body.anti_phishing_phrase.trim();
    let len = phrase.chars().count();
    if !(4..=64).contains(&len) || phrase.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "anti_phishing_phrase",
            "must be 4-64 characters without control characters",
        ));
    }
    Ok(phrase)
}

/// The user's settings.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", security(("session" = [])),
    responses((status = 200, description = "Settings", body = schemas::SettingsView)))]
async fn read(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let phrase = users::phrase(&app.db, who.user_id).await?;
    Ok(Json(json!({ "anti_phishing_phrase": phrase })))
}

/// Sets the anti-phishing phrase.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", security(("session" = [])),
    request_body = Settings,
    responses((status = 200, description = "Settings", body = schemas::SettingsView)))]
async fn write(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<Value>> {
    let phrase = phrase(&body)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    users::set_phrase(&mut tx, who.user_id, phrase).await?;
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: "settings.phrase_changed",
        detail: json!({}),
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Json(json!({ "anti_phishing_phrase": phrase })))
}
