//! Security-key assertions shared by sign-in and re-authentication: start a
//! ceremony bound to one user and purpose, then finish it — consuming the
//! challenge first, verifying, and moving the counter with a compare-and-set.

use keyward_api::keys::{CeremonyAnswer, CeremonyOptions};
use keyward_fido::credential::{key_from_json, key_to_json};
use keyward_fido::wire::{PublicKeyCredential, SecurityKey};
use keyward_fido::{AuthenticationState, FidoError, UserVerification};
use serde_json::Value;
use uuid::Uuid;

use crate::caller::Client;
use crate::db::Tx;
use crate::domain::details::Action;
use crate::error::{ApiError, ApiResult};
use crate::flows::throttle::{self, Via};
use crate::state::AppState;
use crate::store::ceremonies;
pub use crate::store::ceremonies::Purpose;
use crate::store::credentials::{self, CredentialRow};
use crate::store::{metadata, users};
use keyward_fido::CertificationLevel;

mod carrying;
mod passkey;
mod refusal;
pub use carrying::{Carrying, finish_carrying, start_carrying};
pub use passkey::{PasskeyAnswer, finish_passkey, identify_passkey};
use refusal::{possible_clone, refuse};

/// What a ceremony must be for: a purpose, and for step-ups the step-up id
/// and the action it approves.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Purpose.
    pub purpose: Purpose,
    /// Subject (step-up id), if any.
    pub subject: Option<Uuid>,
    /// The action a step-up approves.
    pub action: Option<Action>,
}

impl From<Purpose> for Bound {
    fn from(purpose: Purpose) -> Self {
        Self {
            purpose,
            subject: None,
            action: None,
        }
    }
}

impl Bound {
    /// A step-up's ceremony.
    pub fn step_up(id: Uuid, action: Action) -> Self {
        Self {
            purpose: Purpose::StepUp,
            subject: Some(id),
            action: Some(action),
        }
    }
}

/// Why `row` may not answer a ceremony bound as `bound`, if it may not:
/// a suspended key approves nothing (and signs in only if the operator
/// allows it); a key must meet the action's device-bound and certification
/// requirements.
pub async fn key_refusal(
    app: &AppState,
    row: &CredentialRow,
    key: &SecurityKey,
    bound: Bound,
) -> ApiResult<Option<&'static str>> {
    let approving = bound.purpose == Purpose::StepUp;
    if row.suspended_reason.is_some()
        && (approving || !app.config.attestation.suspended_keys_sign_in)
    {
        return Ok(Some("key_suspended"));
    }
    let requirement = match bound.purpose {
        Purpose::StepUp => app.config.key_requirement(bound.action),
        Purpose::SignIn => app.config.key_requirement(None),
        // A key whose model was found compromised still re-authenticates
        // and endorses its own replacement: its owner must be able to move
        // to a new key without an operator.
        Purpose::Register | Purpose::Reauth | Purpose::Endorse => return Ok(None),
    };
    if requirement.device_bound && !keyward_fido::credential::is_device_bound(key) {
        return Ok(Some("key_not_device_bound"));
    }
    if let Some(least) = requirement.min_certification {
        let level = match row.aaguid {
            Some(aaguid) => metadata::model(&app.db, aaguid)
                .await?
                .and_then(|m| m.certification)
                .and_then(|c| CertificationLevel::parse(&c)),
            None => None,
        };
        if level.is_none_or(|l| l < least) {
            return Ok(Some("key_certification_too_low"));
        }
    }
    Ok(None)
}

/// Stores `state` as a new ceremony for `user_id` and returns its id.
pub async fn save_ceremony(
    app: &AppState,
    user_id: Uuid,
    bound: impl Into<Bound>,
    state: &impl serde::Serialize,
) -> ApiResult<Uuid> {
    let bound = bound.into();
    let id = Uuid::new_v4();
    let now = app.clock.now();
    let ttl = crate::clock::millis(app.config.ceremony_ttl);
    let state = serde_json::to_string(state).map_err(|e| ApiError::Internal(e.into()))?;
    let row = ceremonies::NewCeremony {
        id,
        user_id,
        purpose: bound.purpose,
        subject: bound.subject,
        state: &state,
    };
    ceremonies::insert(&app.db, &row, now, now + ttl).await?;
    Ok(id)
}

/// Takes (deletes and returns) a ceremony's state; unknown, used, another
/// user's, purpose's or subject's → `CeremonyUnknown`; past expiry →
/// `CeremonyExpired`.
pub async fn take_ceremony<S: serde::de::DeserializeOwned>(
    app: &AppState,
    id: Uuid,
    user_id: Uuid,
    bound: impl Into<Bound>,
) -> ApiResult<S> {
    let bound = bound.into();
    let (state, expires_at) = ceremonies::take(&app.db, id, user_id, bound.purpose, bound.subject)
        .await?
        .ok_or(ApiError::CeremonyUnknown)?;
    if expires_at <= app.clock.now() {
        return Err(ApiError::CeremonyExpired);
    }
    serde_json::from_str(&state).map_err(|e| ApiError::Internal(e.into()))
}

/// The user's keys as webauthn-rs credentials, with their rows.
pub async fn user_keys(
    app: &AppState,
    user_id: Uuid,
) -> ApiResult<Vec<(CredentialRow, SecurityKey)>> {
    let rows = credentials::for_user(&app.db, user_id).await?;
    rows.into_iter()
        .map(|row| {
            key_from_json(&row.key_json)
                .map(|k| (row, k))
                .map_err(|e| ApiError::Internal(e.into()))
        })
        .collect()
}

/// The user's keys (`all`, as [`user_keys`] reads them) that may answer a
/// ceremony bound as `bound`. With keys but none eligible, the refusal of
/// the first says why.
async fn eligible(
    app: &AppState,
    all: &[(CredentialRow, SecurityKey)],
    bound: Bound,
) -> ApiResult<Vec<SecurityKey>> {
    if all.is_empty() {
        return Err(ApiError::Forbidden("enrol a security key first"));
    }
    let mut eligible = Vec::new();
    let mut first_refusal = None;
    for (row, key) in all {
        match key_refusal(app, row, key, bound).await? {
            None => eligible.push(key.clone()),
            Some(reason) => {
                first_refusal.get_or_insert(reason);
            }
        }
    }
    match first_refusal {
        Some(reason) if eligible.is_empty() => Err(ApiError::CeremonyRefused { reason }),
        _ => Ok(eligible),
    }
}

/// Starts an assertion against all of the user's keys: the ceremony id and
/// the `PublicKeyCredentialRequestOptions` for the browser.
pub async fn start(
    app: &AppState,
    user_id: Uuid,
    purpose: Purpose,
    uv: UserVerification,
) -> ApiResult<CeremonyOptions> {
    let all = user_keys(app, user_id).await?;
    let keys = eligible(app, &all, purpose.into()).await?;
    let (options, state) = app.fido.start_authentication(&keys, uv)?;
    let ceremony = save_ceremony(app, user_id, purpose, &state).await?;
    ceremony_options(ceremony, &options.public_key)
}

/// `{ceremony, publicKey}` for the browser.
pub fn ceremony_options(
    ceremony: Uuid,
    public_key: &impl serde::Serialize,
) -> ApiResult<CeremonyOptions> {
    let public_key = serde_json::to_value(public_key).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(CeremonyOptions {
        ceremony,
        public_key,
    })
}

/// Starts an assertion for step-up `subject` whose challenge is `challenge`
/// (derived from the step-up's nonce and details digest), against the
/// eligible ones of `all`, the user's keys as [`user_keys`] read them.
pub async fn start_bound(
    app: &AppState,
    user_id: Uuid,
    all: &[(CredentialRow, SecurityKey)],
    bound: Bound,
    uv: UserVerification,
    challenge: [u8; 32],
) -> ApiResult<CeremonyOptions> {
    let keys = eligible(app, all, bound).await?;
    let (options, state) = app.fido.start_bound_authentication(&keys, uv, challenge)?;
    let ceremony = save_ceremony(app, user_id, bound, &state).await?;
    ceremony_options(ceremony, &options.public_key)
}

/// A verified assertion whose counter update is written but not committed:
/// the caller adds its own change and audit entry, then commits.
pub struct Asserted {
    /// The open transaction.
    pub tx: Tx,
    /// The key that signed.
    pub credential: CredentialRow,
    /// Whether the user was verified (UV).
    pub user_verified: bool,
    /// The response as received (for evidence).
    pub response: PublicKeyCredential,
    /// The signing key, as updated by this assertion.
    pub key: SecurityKey,
    /// The user's username.
    pub username: String,
    /// The account's throttling scope for this sender (cleared by a
    /// complete sign-in).
    pub account_scope: String,
}

/// Who sends an assertion: the user's browser, or a service's back end
/// forwarding it (API mode) with the end user's address if it stated one.
#[derive(Debug, Clone, Copy)]
pub enum Sender<'a> {
    /// The user's browser (its device cookie and address are the client's).
    Browser,
    /// A service (its own address is never throttled on the user's behalf).
    Service {
        /// The end user's address, as the service stated it.
        user_ip: Option<&'a str>,
    },
}

/// Who is answering, for the audit log and throttling.
struct Answerer<'a> {
    /// The user the ceremony was issued for.
    pub user_id: Uuid,
    /// The client.
    pub client: &'a Client,
    /// The address failures count against, if any.
    pub ip: Option<&'a str>,
    /// The account's username.
    pub username: &'a str,
    /// Who answers for the account.
    pub via: Via,
}

/// Reads the browser's assertion response; 422 naming `credential` if it is
/// not one.
pub fn assertion_response(credential: Value) -> ApiResult<PublicKeyCredential> {
    serde_json::from_value(credential).map_err(|e| ApiError::invalid("credential", e.to_string()))
}

/// Finishes an assertion the user's browser sent for `purpose` (sign-in
/// or re-authentication): [`finish`] with the browser as the sender.
pub async fn finish_in_browser(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
    purpose: Purpose,
    answer: CeremonyAnswer,
    uv: UserVerification,
) -> ApiResult<Asserted> {
    let (ceremony, credential) = (answer.ceremony, answer.credential);
    let keys = user_keys(app, user_id).await?;
    let sender = Sender::Browser;
    finish(
        app, user_id, client, sender, purpose, ceremony, credential, uv, keys,
    )
    .await
}

/// Finishes an assertion by one of `user_id`'s keys (`keys`, as
/// [`user_keys`] read them) from `client`. Refused while the account or
/// address is throttled; failures are audited and counted for throttling
/// before the error is returned; nothing else changes. A key removed since
/// `keys` were read is refused when its counter is recorded.
#[allow(clippy::too_many_arguments)] // each is one fact about the answer
pub async fn finish(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
    sender: Sender<'_>,
    bound: impl Into<Bound>,
    ceremony: Uuid,
    credential: Value,
    uv: UserVerification,
    keys: Vec<(CredentialRow, SecurityKey)>,
) -> ApiResult<Asserted> {
    let answer = (ceremony, credential);
    let split = |state: AuthenticationState| (state, ());
    finish_as(
        app,
        user_id,
        client,
        sender,
        bound.into(),
        answer,
        (uv, keys),
        split,
    )
    .await
    .map(|(asserted, ())| asserted)
}

#[allow(clippy::too_many_arguments)] // each is one fact about the answer
async fn finish_as<S: serde::de::DeserializeOwned, T>(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
    sender: Sender<'_>,
    bound: Bound,
    (ceremony, credential): (Uuid, Value),
    (uv, keys): (UserVerification, Vec<(CredentialRow, SecurityKey)>),
    split: impl FnOnce(S) -> (AuthenticationState, T),
) -> ApiResult<(Asserted, T)> {
    let username = username_of(app, user_id).await?;
    let (via, ip) = match sender {
        Sender::Browser => (
            Via::browser(app, client, &username),
            Some(client.ip.as_str()),
        ),
        Sender::Service { user_ip } => (Via::Service, user_ip),
    };
    throttle::check(app, &username, via, ip).await?;
    let who = &Answerer {
        user_id,
        client,
        ip,
        username: &username,
        via,
    };
    let response = assertion_response(credential)?;
    // Consume the challenge before anything is verified or acted on.
    let state: S = take_ceremony(app, ceremony, who.user_id, bound).await?;
    let (state, carried) = split(state);
    let verified = app
        .fido
        .finish_authentication(&response, &state, uv, user_id);
    let asserted = conclude(app, who, bound, response, keys, verified).await?;
    Ok((asserted, carried))
}

/// The part of finishing an assertion after the signature was checked
/// (`verified`): a refusal is audited and counted; an accepted assertion's
/// key must still be the user's and eligible, and its counter moves with a
/// compare-and-set inside the returned transaction.
async fn conclude(
    app: &AppState,
    who: &Answerer<'_>,
    bound: Bound,
    response: PublicKeyCredential,
    keys: Vec<(CredentialRow, SecurityKey)>,
    verified: Result<keyward_fido::AssertionOutcome, FidoError>,
) -> ApiResult<Asserted> {
    let outcome = match verified {
        Ok(outcome) => outcome,
        Err(FidoError::CounterRegression) => {
            return Err(possible_clone(app, who, &response.raw_id).await);
        }
        Err(err) => return Err(refuse(app, who, err.into()).await),
    };
    let Some((row, mut key)) = keys
        .into_iter()
        .find(|(r, _)| r.credential_id == outcome.credential_id)
    else {
        // The key was removed while the ceremony was open.
        let err = ApiError::CeremonyRefused {
            reason: "credential_not_allowed",
        };
        return Err(refuse(app, who, err).await);
    };
    throttle::refuse_if_locked(app, who.user_id).await?;
    // The key was eligible when the options were made; check again, as
    // metadata or the key may have changed since (before the transaction:
    // no pool reads while it is held).
    if let Some(reason) = key_refusal(app, &row, &key, bound).await? {
        return Err(refuse(app, who, ApiError::CeremonyRefused { reason }).await);
    }
    key.update_credential(&outcome.result);
    let key_json = key_to_json(&key).map_err(|e| ApiError::Internal(e.into()))?;
    let mut tx = app.db.begin().await?;
    if !credentials::record_use(&mut tx, row.id, outcome.counter, &key_json, app.clock.now())
        .await?
    {
        // Another assertion of this key, signed after this one, was
        // recorded first (the user approved two things at once). The
        // counter still went up since this challenge was issued — webauthn-rs
        // compared it with the counter then — so it is a race, not a clone:
        // refused (counters only move forward), nothing flagged or counted.
        drop(tx);
        return Err(ApiError::CeremonyRefused {
            reason: "counter_raced",
        });
    }
    // A key flagged as possibly cloned signs in (so its owner can review
    // it) but approves nothing, and endorses no key change, until the owner
    // confirms it.
    if row.possibly_cloned && matches!(bound.purpose, Purpose::StepUp | Purpose::Endorse) {
        drop(tx);
        return Err(ApiError::CeremonyRefused {
            reason: "key_possibly_cloned",
        });
    }
    Ok(Asserted {
        tx,
        credential: row,
        user_verified: outcome.user_verified,
        response,
        key,
        account_scope: throttle::account_scope(who.username, who.via),
        username: who.username.to_owned(),
    })
}

/// The username of an account, for throttling keys.
pub async fn username_of(app: &AppState, user_id: Uuid) -> ApiResult<String> {
    Ok(users::by_id(&app.db, user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?
        .username)
}
