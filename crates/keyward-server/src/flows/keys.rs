//! Security-key management: enrol, rename, remove.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_api::PolicyReason;
use keyward_api::keys::{CeremonyAnswer, CeremonyOptions, Key};
use keyward_fido::credential::{key_from_json, key_to_json};
use keyward_fido::wire::RegisterPublicKeyCredential;
use keyward_fido::{EnrolledKey, RegistrationState};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{MayEnrol, SignedIn};
use crate::caller::Client;
use crate::clock::{Millis, rfc3339};
use crate::db::is_unique_violation;
use crate::domain::audit::AuditEvent;
use crate::domain::names::KeyLabel;
use crate::error::{ApiError, ApiResult};
use crate::flows::account::open_login;
use crate::flows::assertion::username_of;
use crate::flows::assertion::{self, save_ceremony, take_ceremony, user_keys};
use crate::state::AppState;
use crate::store::ceremonies::Purpose;
use crate::store::credentials::{self, CredentialRow, UNIQUE_CREDENTIAL_ID};
use crate::store::{audit, logins, users};

/// A new account may enrol its first key; anyone else needs a fresh assertion.
fn check_may_enrol(app: &AppState, who: &MayEnrol, existing: usize) -> ApiResult<()> {
    match &who.signed_in {
        Some(signed_in) => signed_in.require_fresh_key(app),
        None if existing == 0 => Ok(()),
        None => Err(ApiError::Unauthenticated),
    }
}

/// Starts enrolling a key: the ceremony and the creation options.
pub async fn start_enrolment(app: &AppState, who: &MayEnrol) -> ApiResult<CeremonyOptions> {
    let existing = user_keys(app, who.user_id).await?;
    check_may_enrol(app, who, existing.len())?;
    let username = username_of(app, who.user_id).await?;
    let exclude = existing
        .into_iter()
        .map(|(row, _)| row.credential_id)
        .collect();
    // Where passkeys sign in, ask the key to keep the credential.
    let discoverable = app.config.passkey_sign_in != crate::config::PasskeySignIn::Off;
    let (options, state) =
        app.fido
            .start_registration(who.user_id, &username, exclude, discoverable)?;
    let ceremony = save_ceremony(app, who.user_id, Purpose::Register, &state).await?;
    crate::flows::assertion::ceremony_options(ceremony, &options.public_key)
}

/// The result of enrolling: the new key, and the login opened if this was
/// the account's first key.
pub struct Enrolled {
    /// The stored key.
    pub key: CredentialRow,
    /// Set when the enrolment also signed the user in.
    pub new_login: Option<Uuid>,
}

/// Reads the browser's registration response; 422 naming `credential` if
/// it is not one.
pub fn registration_response(credential: Value) -> ApiResult<RegisterPublicKeyCredential> {
    serde_json::from_value(credential).map_err(|e| ApiError::invalid("credential", e.to_string()))
}

/// Finishes enrolling a key: verifies attestation per policy and stores it.
pub async fn finish_enrolment(
    app: &AppState,
    who: &MayEnrol,
    ceremony: Uuid,
    label: &str,
    credential: Value,
    client: &Client,
) -> ApiResult<Enrolled> {
    let label = KeyLabel::parse(label)?;
    let response = registration_response(credential)?;
    let state: RegistrationState =
        take_ceremony(app, ceremony, who.user_id, Purpose::Register).await?;
    let enrolled = match app.fido.finish_registration(&response, &state) {
        Ok(enrolled) => enrolled,
        Err(err) => {
            let err = ApiError::from(err);
            let reason = if let ApiError::CeremonyRefused { reason } = &err {
                *reason
            } else {
                "error"
            };
            let event = audit::Event {
                user_id: Some(who.user_id),
                event: AuditEvent::KeyEnrolmentRefused {
                    reason: reason.into(),
                },
                ip: Some(&client.ip),
            };
            audit::append_alone(&app.db, &event, app.clock.now()).await?;
            return Err(err);
        }
    };
    store_key(app, who, enrolled, label, client).await
}

async fn store_key(
    app: &AppState,
    who: &MayEnrol,
    enrolled: EnrolledKey,
    label: KeyLabel,
    client: &Client,
) -> ApiResult<Enrolled> {
    let now = app.clock.now();
    // Under `any`, a model metadata marks compromised can still enrol; it
    // is suspended from the start (under `trusted` it is refused).
    let suspended_reason = match enrolled.aaguid {
        Some(aaguid) => crate::store::metadata::model(&app.db, aaguid)
            .await?
            .and_then(|m| m.status)
            .filter(|s| keyward_fido::metadata::is_compromise(s)),
        None => None,
    };
    let row = CredentialRow {
        id: Uuid::new_v4(),
        user_id: who.user_id,
        credential_id: enrolled.credential_id,
        label: label.as_str().into(),
        aaguid: enrolled.aaguid,
        attestation_format: enrolled.attestation_format,
        key_json: key_to_json(&enrolled.key).map_err(|e| ApiError::Internal(e.into()))?,
        sign_count: i64::from(enrolled.counter),
        possibly_cloned: false,
        created_at: now,
        last_used_at: None,
        suspended_at: suspended_reason.as_ref().map(|_| now),
        suspended_reason,
    };
    let mut tx = app.db.begin().await?;
    users::lock(&mut tx, who.user_id).await?;
    let existing = credentials::count_for_user(&mut tx, who.user_id).await?;
    check_may_enrol(app, who, usize::try_from(existing).unwrap_or(usize::MAX))?;
    if let Err(e) = credentials::insert(&mut tx, &row).await {
        return Err(if is_unique_violation(&e, UNIQUE_CREDENTIAL_ID) {
            ApiError::CredentialExists
        } else {
            e.into()
        });
    }
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: AuditEvent::KeyEnrolled {
            key_id: row.id,
            label: row.label.clone(),
            aaguid: row.aaguid,
            attestation_format: row.attestation_format.clone(),
            credential_id: URL_SAFE_NO_PAD.encode(&row.credential_id),
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    let new_login = match who.signed_in {
        // Another key on an existing account is a security change: hold withdrawals.
        Some(_) => {
            users::extend_hold(
                &mut tx,
                who.user_id,
                now + app.hold_ms(),
                PolicyReason::KeyAdded,
            )
            .await?;
            None
        }
        // The first key completes sign-up (there is nothing to withdraw yet).
        None => Some(open_login(app, &mut tx, who.user_id, client, now).await?),
    };
    tx.commit().await?;
    Ok(Enrolled {
        key: row,
        new_login,
    })
}

/// Renames one of the user's keys.
pub async fn rename(
    app: &AppState,
    who: &SignedIn,
    key_id: Uuid,
    label: &str,
    client: &Client,
) -> ApiResult<()> {
    let label = KeyLabel::parse(label)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !credentials::rename(&mut tx, who.user_id, key_id, label.as_str()).await? {
        return Err(ApiError::NotFound("key"));
    }
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: AuditEvent::KeyRenamed {
            key_id,
            label: label.as_str().into(),
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The user confirms that a key flagged "possibly cloned" is in their
/// hands (after a fresh key assertion): it may approve step-ups again.
pub async fn confirm(
    app: &AppState,
    who: &SignedIn,
    key_id: Uuid,
    client: &Client,
) -> ApiResult<()> {
    who.require_fresh_key(app)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !credentials::confirm(&mut tx, who.user_id, key_id).await? {
        return Err(ApiError::NotFound("key"));
    }
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: AuditEvent::KeyConfirmed { key_id },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes one of the user's keys (never the last), after a fresh key
/// assertion, and ends the user's other sessions.
pub async fn remove(
    app: &AppState,
    who: &SignedIn,
    key_id: Uuid,
    client: &Client,
) -> ApiResult<u64> {
    who.require_fresh_key(app)?;
    let Some(label) = credentials::for_user(&app.db, who.user_id)
        .await?
        .into_iter()
        .find(|row| row.id == key_id)
        .map(|row| row.label)
    else {
        return Err(ApiError::NotFound("key"));
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    // Count under the user-row lock: two concurrent removals cannot both
    // see two keys and leave none.
    users::lock(&mut tx, who.user_id).await?;
    if credentials::count_for_user(&mut tx, who.user_id).await? <= 1 {
        return Err(ApiError::LastKey);
    }
    if !credentials::delete(&mut tx, who.user_id, key_id).await? {
        return Err(ApiError::NotFound("key"));
    }
    let ended =
        logins::end_others(&mut tx, who.user_id, Some(who.login_id), "key_removed", now).await?;
    users::extend_hold(
        &mut tx,
        who.user_id,
        now + app.hold_ms(),
        PolicyReason::KeyRemoved,
    )
    .await?;
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: AuditEvent::KeyRemoved {
            key_id,
            label,
            sessions_ended: ended,
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(ended)
}

/// The API view of a key, with what metadata says of its model.
pub async fn view(app: &AppState, k: &CredentialRow) -> ApiResult<Key> {
    let described = match k.aaguid {
        Some(aaguid) => crate::store::metadata::model(&app.db, aaguid).await?,
        None => None,
    };
    let model = described
        .as_ref()
        .map(|m| m.description.clone())
        .filter(|d| !d.is_empty())
        .or_else(|| builtin_model(k.aaguid?));
    let device_bound = key_from_json(&k.key_json)
        .map(|key| keyward_fido::credential::is_device_bound(&key))
        .unwrap_or(false);
    Ok(Key {
        id: k.id,
        label: k.label.clone(),
        credential_id: URL_SAFE_NO_PAD.encode(&k.credential_id),
        aaguid: k.aaguid,
        attestation_format: k.attestation_format.clone(),
        created_at: rfc3339(k.created_at),
        last_used_at: k.last_used_at.map(rfc3339),
        possibly_cloned: k.possibly_cloned,
        model,
        device_bound,
        certification: described.and_then(|m| m.certification),
        suspended: k
            .suspended_reason
            .as_ref()
            .map(|status| keyward_api::keys::KeySuspension {
                status: status.clone(),
                since: rfc3339(k.suspended_at.unwrap_or(k.created_at)),
            }),
    })
}

/// The name of a YubiKey model Keyward knows without metadata.
fn builtin_model(aaguid: Uuid) -> Option<String> {
    keyward_fido::attestation::YUBIKEY_5_AAGUIDS
        .iter()
        .find(|(id, _)| Uuid::parse_str(id).ok() == Some(aaguid))
        .map(|(_, name)| (*name).to_owned())
}

/// A fresh key assertion for sensitive changes: verified and audited in one
/// transaction. Returns when the key answered.
pub async fn reauthenticate(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
    answer: CeremonyAnswer,
) -> ApiResult<Millis> {
    let uv = app.config.user_verification.key_management;
    let mut done =
        assertion::finish_in_browser(app, user_id, client, Purpose::Reauth, answer, uv).await?;
    let now = app.clock.now();
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::ReauthSucceeded {
            key_id: done.credential.id,
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut done.tx, &event, now).await?;
    done.tx.commit().await?;
    Ok(now)
}

/// The user's keys, oldest first.
pub async fn list(app: &AppState, user_id: Uuid) -> ApiResult<Vec<Key>> {
    let mut keys = Vec::new();
    for row in credentials::for_user(&app.db, user_id).await? {
        keys.push(view(app, &row).await?);
    }
    Ok(keys)
}
