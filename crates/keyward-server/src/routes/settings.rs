//! The user's settings: the anti-phishing phrase shown on Keyward's
//! confirmation page (a copied page cannot know it).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::state::AppState;
use crate::store::{audit, users};

/// Settings routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/settings", get(read).put(write))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    anti_phishing_phrase: String,
}

async fn read(State(app): State<AppState>, who: SignedIn) -> ApiResult<Json<Value>> {
    let phrase = users::phrase(&app.db, who.user_id).await?;
    Ok(Json(json!({ "anti_phishing_phrase": phrase })))
}

async fn write(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<Value>> {
    let phrase = body.anti_phishing_phrase.trim();
    let len = phrase.chars().count();
    if !(4..=64).contains(&len) || phrase.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "anti_phishing_phrase",
            "must be 4-64 characters without control characters",
        ));
    }
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
