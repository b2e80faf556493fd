//! The user's settings: the anti-phishing phrase shown on the confirmation
//! page.

use axum::Json;
use axum::extract::State;
use keyward_api::account::{Settings, SettingsView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Client};
use crate::flows::settings;
use crate::state::AppState;

/// Settings routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, write))
}

/// The user's settings.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", security(("session" = [])),
    responses((status = 200, description = "Settings", body = SettingsView)))]
async fn read(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<SettingsView>> {
    Ok(Json(settings::read(&app, who.user_id).await?))
}

/// Sets the anti-phishing phrase.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", security(("session" = [])),
    request_body = Settings,
    responses((status = 200, description = "Settings", body = SettingsView)))]
async fn write(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<SettingsView>> {
    let phrase = settings::set_phrase(&app, who.user_id, &body, &client).await?;
    Ok(Json(SettingsView {
        anti_phishing_phrase: Some(phrase),
    }))
}
