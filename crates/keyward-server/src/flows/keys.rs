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
use crate::db::Tx;
use crate::db::is_unique_violation;
use crate::domain::audit::AuditEvent;
use crate::domain::names::KeyLabel;
use crate::error::{ApiError, ApiResult};
use crate::flows::account::open_login;
use crate::flows::assertion::username_of;
use crate::flows::assertion::{self, Bound, save_ceremony, take_ceremony, user_keys};
use crate::flows::key_chain;
use crate::state::AppState;
use crate::store::ceremonies::Purpose;
use crate::store::credentials::{self, CredentialRow, UNIQUE_CREDENTIAL_ID};
use crate::store::{audit, users};
use keyward_proof::{ChainAction, Statement};

mod removal;
pub use removal::{finish_removal, start_removal};

/// A new account may enrol its first key; a signed-in user may add one,
/// which one of their keys then endorses (that touch is the proof it is
/// them: no separate fresh sign-in is asked for).
fn check_may_enrol(who: &MayEnrol, existing: usize) -> ApiResult<()> {
    match &who.signed_in {
        Some(_) => Ok(()),
        None if existing == 0 => Ok(()),
        None => Err(ApiError::Unauthenticated),
    }
}

/// Starts enrolling a key: the ceremony and the creation options.
pub async fn start_enrolment(app: &AppState, who: &MayEnrol) -> ApiResult<CeremonyOptions> {
    let existing = user_keys(app, who.user_id).await?;
    check_may_enrol(who, existing.len())?;
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

/// What finishing a registration leads to.
pub enum Enrolment {
    /// The account's first key, stored (the account's chain starts with it).
    Stored(Box<Enrolled>),
    /// Another key: stored once one of the user's keys endorses it (these
    /// options, answered at [`endorse_addition`]).
    Pending(CeremonyOptions),
}

/// A key added to an account, waiting for its endorsement: what the
/// endorsement ceremony carries.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingKey {
    suspended_reason: Option<String>,
    label: String,
    key_json: String,
    aaguid: Option<Uuid>,
    attestation_format: String,
    counter: u32,
    #[serde(with = "keyward_proof::evidence::b64")]
    attestation: Vec<u8>,
    statement: Statement,
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

/// Finishes enrolling a key: verifies attestation per policy; stores the
/// account's first key (its chain's genesis), and for any other key asks
/// one of the user's keys to endorse it.
pub async fn finish_enrolment(
    app: &AppState,
    who: &MayEnrol,
    ceremony: Uuid,
    label: &str,
    credential: Value,
    client: &Client,
) -> ApiResult<Enrolment> {
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
    match &who.signed_in {
        Some(signed_in) => start_addition(app, signed_in, enrolled, label).await,
        None => store_key(app, who, enrolled, label, client)
            .await
            .map(|e| Enrolment::Stored(Box::new(e))),
    }
}

/// Asks the user's keys to endorse `enrolled`: a key-chain statement adding
/// it, signed over by one of them at [`endorse_addition`].
async fn start_addition(
    app: &AppState,
    who: &SignedIn,
    enrolled: EnrolledKey,
    label: KeyLabel,
) -> ApiResult<Enrolment> {
    let all = crate::store::key_chain::all(&app.db, who.user_id).await?;
    let attestation = Some(enrolled.attestation_object.as_slice());
    let key = key_chain::record(
        &enrolled.credential_id,
        &enrolled.key,
        enrolled.aaguid,
        attestation,
    )?;
    let now = app.clock.now();
    let statement = key_chain::next(
        who.user_id,
        key_chain::current(&all),
        ChainAction::Add,
        key,
        now,
    )?;
    let challenge = key_chain::challenge(&statement);
    let pending = PendingKey {
        suspended_reason: suspension_of(app, enrolled.aaguid).await?,
        label: label.as_str().into(),
        key_json: key_to_json(&enrolled.key).map_err(|e| ApiError::Internal(e.into()))?,
        aaguid: enrolled.aaguid,
        attestation_format: enrolled.attestation_format,
        counter: enrolled.counter,
        attestation: enrolled.attestation_object,
        statement,
    };
    let uv = app.config.user_verification.key_management;
    let bound = Bound::from(Purpose::Endorse);
    let options =
        assertion::start_carrying(app, who.user_id, bound, uv, challenge, pending).await?;
    Ok(Enrolment::Pending(options))
}

/// One of the user's keys endorses the key waiting in `answer`'s ceremony:
/// the key is stored, the chain extended and withdrawals held, in one
/// transaction.
pub async fn endorse_addition(
    app: &AppState,
    who: &SignedIn,
    answer: CeremonyAnswer,
    client: &Client,
) -> ApiResult<CredentialRow> {
    let uv = app.config.user_verification.key_management;
    let bound = Bound::from(Purpose::Endorse);
    let (mut done, pending): (_, PendingKey) =
        assertion::finish_carrying(app, who.user_id, client, bound, answer, uv).await?;
    let now = app.clock.now();
    let row = CredentialRow {
        id: Uuid::new_v4(),
        user_id: who.user_id,
        credential_id: pending.statement.key.credential_id.clone(),
        label: pending.label,
        aaguid: pending.aaguid,
        attestation_format: pending.attestation_format,
        key_json: pending.key_json,
        sign_count: i64::from(pending.counter),
        possibly_cloned: false,
        created_at: now,
        last_used_at: None,
        suspended_at: pending.suspended_reason.as_ref().map(|_| now),
        suspended_reason: pending.suspended_reason,
        removal_from: None,
    };
    key_chain::endorse(app, &mut done, pending.statement, Some(pending.attestation)).await?;
    insert_key(&mut done.tx, &row, client, now).await?;
    // Another key on an existing account is a security change: hold withdrawals.
    users::security_changed(
        &mut done.tx,
        who.user_id,
        now,
        now + app.hold_ms(),
        PolicyReason::KeyAdded,
    )
    .await?;
    done.tx.commit().await?;
    Ok(row)
}

/// Whether a model metadata marks compromised: under `any` such a key can
/// still enrol, suspended from the start (under `trusted` it is refused).
async fn suspension_of(app: &AppState, aaguid: Option<Uuid>) -> ApiResult<Option<String>> {
    Ok(match aaguid {
        Some(aaguid) => crate::store::metadata::model(&app.db, aaguid)
            .await?
            .and_then(|m| m.status)
            .filter(|s| keyward_fido::metadata::is_compromise(s)),
        None => None,
    })
}

/// Stores a key and audits it, inside `tx`.
async fn insert_key(
    tx: &mut Tx,
    row: &CredentialRow,
    client: &Client,
    now: Millis,
) -> ApiResult<()> {
    if let Err(e) = credentials::insert(tx, row).await {
        return Err(if is_unique_violation(&e, UNIQUE_CREDENTIAL_ID) {
            ApiError::CredentialExists
        } else {
            e.into()
        });
    }
    let event = audit::Event {
        user_id: Some(row.user_id),
        event: AuditEvent::KeyEnrolled {
            key_id: row.id,
            label: row.label.clone(),
            aaguid: row.aaguid,
            attestation_format: row.attestation_format.clone(),
            credential_id: URL_SAFE_NO_PAD.encode(&row.credential_id),
        },
        ip: Some(&client.ip),
    };
    audit::append(tx, &event, now).await?;
    Ok(())
}

/// Stores an account's first key, starts its key chain with it, and signs
/// the new account in.
async fn store_key(
    app: &AppState,
    who: &MayEnrol,
    enrolled: EnrolledKey,
    label: KeyLabel,
    client: &Client,
) -> ApiResult<Enrolled> {
    let now = app.clock.now();
    let suspended_reason = suspension_of(app, enrolled.aaguid).await?;
    let attestation = Some(enrolled.attestation_object.as_slice());
    let genesis = key_chain::record(
        &enrolled.credential_id,
        &enrolled.key,
        enrolled.aaguid,
        attestation,
    )?;
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
        removal_from: None,
    };
    let mut tx = app.db.begin().await?;
    users::lock(&mut tx, who.user_id).await?;
    let existing = credentials::count_for_user(&mut tx, who.user_id).await?;
    check_may_enrol(who, usize::try_from(existing).unwrap_or(usize::MAX))?;
    insert_key(&mut tx, &row, client, now).await?;
    let attestation = Some(enrolled.attestation_object);
    key_chain::start(&mut tx, who.user_id, vec![(genesis, attestation)], now).await?;
    // The first key completes sign-up (there is nothing to withdraw yet).
    let place = crate::flows::risk::place_of(app, client, None, now);
    let new_login = Some(open_login(app, &mut tx, who.user_id, client, &place, now).await?);
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
        removable_from: k.removal_from.map(rfc3339),
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
