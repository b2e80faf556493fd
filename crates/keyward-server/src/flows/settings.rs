//! The user's settings.

use keyward_api::account::{Settings, SettingsView};
use uuid::Uuid;

use crate::caller::Client;
use crate::domain::audit::AuditEvent;
use crate::domain::names::phrase;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{audit, users};

/// Sets the anti-phishing phrase (validated, trimmed) and audits the
/// change (never the phrase itself). Returns the phrase as stored.
pub async fn set_phrase(
    app: &AppState,
    user_id: Uuid,
    body: &Settings,
    client: &Client,
) -> ApiResult<String> {
    let phrase = phrase(&body.anti_phishing_phrase)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    users::set_phrase(&mut tx, user_id, phrase).await?;
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::PhraseChanged {},
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(phrase.to_owned())
}

/// The user's settings.
pub async fn read(app: &AppState, user_id: Uuid) -> ApiResult<SettingsView> {
    let anti_phishing_phrase = users::phrase(&app.db, user_id).await?;
    Ok(SettingsView {
        anti_phishing_phrase,
    })
}
