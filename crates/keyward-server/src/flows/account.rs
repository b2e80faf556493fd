//! Accounts and sign-in: sign-up, the password step, the key step, sign-out.

use keyward_api::PolicyReason;
use keyward_api::account::{PasskeyOptions, PasswordChanged, SessionList, SessionView};
use keyward_api::keys::CeremonyAnswer;
use secrecy::SecretString;
use uuid::Uuid;

use crate::caller::Client;
use crate::clock::{Millis, rfc3339};
use crate::config::PasskeySignIn;
use crate::db::{Tx, is_unique_violation};
use crate::domain::audit::{AuditEvent, RiskDecided};
use crate::domain::names::Username;
use crate::domain::policy::{self, Decision};
use crate::domain::risk::Place;
use crate::error::{ApiError, ApiResult};
use crate::flows::throttle::{self, Via};
use crate::flows::{assertion, risk};
use crate::state::AppState;
use crate::store::ceremonies::Purpose;
use crate::store::{api_keys, audit, credentials, logins, users};

pub use keyward_api::account::Next;

/// Creates an account. It can do nothing until its first key is enrolled.
pub async fn sign_up(
    app: &AppState,
    username: &str,
    password: SecretString,
    client: &Client,
) -> ApiResult<Uuid> {
    // Counted per address before anything else: sign-ups cost a hash each.
    let _counted = throttle::reserve_sign_up(app, &client.ip).await?;
    let username = Username::parse(username)?;
    let password_hash = app.passwords.hash(password, username.as_str()).await?;
    let now = app.clock.now();
    let user = users::UserRow {
        id: Uuid::new_v4(),
        username: username.as_str().into(),
        password_hash,
        created_at: now,
    };
    let mut tx = app.db.begin().await?;
    if let Err(e) = users::insert(&mut tx, &user).await {
        return Err(if is_unique_violation(&e, "users_username_key") {
            ApiError::UsernameTaken
        } else {
            e.into()
        });
    }
    let event = audit::Event {
        user_id: Some(user.id),
        event: AuditEvent::AccountCreated {
            username: user.username,
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(user.id)
}

/// Checks username and password. Takes as long for an unknown user as for a
/// wrong password, and says the same thing. The attempt is counted before
/// the hash ([`throttle`]) and given back if the password is right.
pub async fn password_step(
    app: &AppState,
    username: &str,
    password: SecretString,
    client: &Client,
) -> ApiResult<(Uuid, Next)> {
    // A malformed name cannot exist; still spend the hashing time, counted
    // against the address like any other wrong guess.
    let Ok(name) = Username::parse(username) else {
        let _guess = throttle::reserve_guess(app, &client.ip).await?;
        app.passwords.verify(None, password).await?;
        return Err(ApiError::InvalidCredentials);
    };
    let via = Via::browser(app, client, name.as_str());
    let attempt = throttle::reserve(app, name.as_str(), via, Some(&client.ip)).await?;
    let user = match users::by_name(&app.db, name.as_str()).await {
        Ok(user) => user,
        Err(e) => return Err(attempt.abandon(app, e.into()).await),
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = match app.passwords.verify(stored, password).await {
        Ok(ok) => ok,
        Err(e) => return Err(attempt.abandon(app, e).await),
    };
    let user = match user {
        Some(user) if ok => user,
        other => {
            let user_id = other.map(|u| u.id);
            let failure = attempt.failed(app).await?;
            let mut tx = app.db.begin().await?;
            throttle::audit_failure(app, &mut tx, failure, user_id, Some(&client.ip)).await?;
            let event = audit::Event {
                user_id,
                event: AuditEvent::SignInPasswordFailed {
                    username: name.as_str().into(),
                },
                ip: Some(&client.ip),
            };
            audit::append(&mut tx, &event, app.clock.now()).await?;
            tx.commit().await?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    attempt.give_back(app).await?;
    throttle::refuse_if_locked(app, user.id).await?;
    let has_keys = !credentials::for_user(&app.db, user.id).await?.is_empty();
    Ok((user.id, if has_keys { Next::Key } else { Next::EnrolKey }))
}

/// Records a new login inside `tx`, with where it came from, and returns
/// its id.
pub async fn open_login(
    app: &AppState,
    tx: &mut Tx,
    user_id: Uuid,
    client: &Client,
    place: &Place,
    now: Millis,
) -> ApiResult<Uuid> {
    let absolute = crate::clock::millis(app.config.session.absolute);
    let login = logins::LoginRow {
        id: Uuid::new_v4(),
        user_id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + absolute,
        ended_at: None,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    logins::insert(tx, &login, place).await?;
    Ok(login.id)
}

/// Ends a login (sign-out or "end this session").
pub async fn end_login(
    app: &AppState,
    user_id: Uuid,
    login_id: Uuid,
    reason: &str,
    client: &Client,
) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !logins::end(&mut tx, user_id, login_id, reason, now).await? {
        return Err(ApiError::NotFound("session"));
    }
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::SessionEnded {
            login_id,
            reason: reason.into(),
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends a login that timed out, with its audit entry; quiet if already ended.
pub async fn expire_login(
    app: &AppState,
    user_id: Uuid,
    login_id: Uuid,
    reason: &str,
) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if logins::end(&mut tx, user_id, login_id, reason, now).await? {
        let event = audit::Event {
            user_id: Some(user_id),
            event: AuditEvent::SessionEnded {
                login_id,
                reason: reason.into(),
            },
            ip: None,
        };
        audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Changes the password: the current one must be right and a key assertion
/// fresh (checked by the caller). Withdrawals are held and the user's other
/// sessions end — a password change is what an attacker who got in would do.
pub async fn change_password(
    app: &AppState,
    (user_id, login_id): (Uuid, Uuid),
    current: SecretString,
    new: SecretString,
    client: &Client,
) -> ApiResult<PasswordChanged> {
    let user = users::by_id(&app.db, user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let via = Via::browser(app, client, &user.username);
    let attempt = throttle::reserve(app, &user.username, via, Some(&client.ip)).await?;
    let ok = match app
        .passwords
        .verify(Some(user.password_hash.clone()), current)
        .await
    {
        Ok(ok) => ok,
        Err(e) => return Err(attempt.abandon(app, e).await),
    };
    if !ok {
        let failure = attempt.failed(app).await?;
        let mut tx = app.db.begin().await?;
        throttle::audit_failure(app, &mut tx, failure, Some(user.id), Some(&client.ip)).await?;
        let event = audit::Event {
            user_id: Some(user.id),
            event: AuditEvent::PasswordChangeRefused {},
            ip: Some(&client.ip),
        };
        audit::append(&mut tx, &event, app.clock.now()).await?;
        tx.commit().await?;
        return Err(ApiError::InvalidCredentials);
    }
    attempt.give_back(app).await?;
    let hash = app
        .passwords
        .hash(new, &user.username)
        .await
        .map_err(|e| match e {
            ApiError::Validation { detail, .. } => ApiError::invalid("new_password", detail),
            other => other,
        })?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    users::set_password(&mut tx, user.id, &hash).await?;
    users::security_changed(
        &mut tx,
        user.id,
        now,
        now + app.hold_ms(),
        PolicyReason::PasswordChanged,
    )
    .await?;
    let ended =
        logins::end_others(&mut tx, user.id, Some(login_id), "password_changed", now).await?;
    // Whoever changed the password may have taken the account: the API keys
    // made before stop working everywhere (the user makes new ones).
    let revoked = api_keys::revoke_all(&mut tx, user.id, now).await?;
    api_keys::bump_epoch(&mut tx).await?;
    let event = audit::Event {
        user_id: Some(user.id),
        event: AuditEvent::PasswordChanged {
            sessions_ended: ended,
            api_keys_revoked: revoked,
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    app.verifier.invalidate();
    Ok(PasswordChanged {
        changed: true,
        sessions_ended: ended,
        api_keys_revoked: revoked,
    })
}

/// A finished key step of sign-in.
pub struct SignedInWithKey {
    /// The new login.
    pub login_id: Uuid,
    /// When the key answered.
    pub at: Millis,
    /// The account's username (for the device cookie).
    pub username: String,
}

/// The key step of sign-in: verifies the assertion, opens the login, clears
/// the account's failure count and audits it, in one transaction.
pub async fn sign_in_with_key(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
    answer: CeremonyAnswer,
) -> ApiResult<SignedInWithKey> {
    let uv = sign_in_uv(app, user_id, client).await?;
    let done =
        assertion::finish_in_browser(app, user_id, client, Purpose::SignIn, answer, uv).await?;
    signed_in(app, user_id, client, done, "password_and_key").await
}

/// The user verification the key step of a sign-in from `client` asks
/// for: the configured one, or `required` where a risk signal says so.
pub async fn sign_in_uv(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
) -> ApiResult<keyward_fido::UserVerification> {
    let configured = app.config.user_verification.sign_in;
    let username = username(app, user_id).await?.unwrap_or_default();
    risk::sign_in_uv(app, user_id, &username, client, configured).await
}

/// Opens the login of an accepted sign-in assertion, clears the account's
/// failure count and audits it (with `method`), in the assertion's
/// transaction.
async fn signed_in(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
    mut done: assertion::Asserted,
    method: &str,
) -> ApiResult<SignedInWithKey> {
    let now = app.clock.now();
    let known = client
        .device_cookie
        .as_deref()
        .and_then(|c| app.devices.verify(c, &done.username));
    let place = risk::place_of(app, client, known, now);
    let verdict = risk::at_sign_in(app, &mut done.tx, user_id, &place).await?;
    if verdict.require_uv && !done.user_verified {
        // The options asked for it (`risk::sign_in_uv`); a passkey sign-in
        // learns whose account only from the answer.
        return Err(ApiError::CeremonyRefused {
            reason: "user_verification_required",
        });
    }
    // The same join as a step-up's: a signal's hold or denial added to a
    // sign-in that is otherwise allowed.
    let decision = policy::tighten(Decision::Allow, &verdict, now);
    let (outcome, held_until) = risk::outcome_of(&decision);
    let decided = RiskDecided {
        stage: "sign_in",
        step_up_id: None,
        outcome,
        held_until,
        reasons: verdict.reasons,
    };
    risk::record(
        &mut done.tx,
        user_id,
        decided,
        &client.ip,
        now,
        verdict.notify,
    )
    .await?;
    match decision {
        Decision::Allow => {}
        Decision::Held { until, reason } => {
            users::extend_hold(&mut done.tx, user_id, until, reason).await?;
        }
        Decision::Denied { reason } => {
            // The refusal is recorded (and told) though no one signs in.
            done.tx.commit().await?;
            return Err(ApiError::PolicyRefused { reason });
        }
    }
    let login_id = open_login(app, &mut done.tx, user_id, client, &place, now).await?;
    throttle::reset_account(&mut done.tx, &done.account_scope).await?;
    let event = audit::Event {
        user_id: Some(user_id),
        event: AuditEvent::SignInSucceeded {
            key_id: done.credential.id,
            login_id,
            user_verified: done.user_verified,
            method: method.to_owned(),
        },
        ip: Some(&client.ip),
    };
    audit::append(&mut done.tx, &event, now).await?;
    done.tx.commit().await?;
    Ok(SignedInWithKey {
        login_id,
        at: now,
        username: done.username,
    })
}

/// Options for a passkey sign-in: nothing is stored (the state travels in
/// the MAC'd handle, see `passkey_token`), so anyone may ask.
pub async fn passkey_options(app: &AppState) -> ApiResult<PasskeyOptions> {
    let mode = app.config.passkey_sign_in;
    if mode == PasskeySignIn::Off {
        return Err(ApiError::Forbidden("passkey sign-in is turned off here"));
    }
    let (options, state) = app.fido.start_passkey()?;
    let state = serde_json::to_string(&state).map_err(|e| ApiError::Internal(e.into()))?;
    let expires_at = app.clock.now() + crate::clock::millis(app.config.ceremony_ttl);
    let public_key =
        serde_json::to_value(&options.public_key).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(PasskeyOptions {
        ceremony: app.passkeys.seal(state, expires_at),
        public_key,
        password_required: mode == PasskeySignIn::WithPassword,
    })
}

/// Signs in with a passkey: the answer names the account; where the
/// deployment asks for it the password is checked first (counted and
/// audited as at the password step); then the assertion is verified, the
/// login opened and audited, as with password and key.
pub async fn sign_in_with_passkey(
    app: &AppState,
    client: &Client,
    body: keyward_api::account::PasskeyAnswer,
) -> ApiResult<(Uuid, SignedInWithKey)> {
    let mode = app.config.passkey_sign_in;
    if mode == PasskeySignIn::Off {
        return Err(ApiError::Forbidden("passkey sign-in is turned off here"));
    }
    let password = match (mode, body.password) {
        (PasskeySignIn::WithPassword, None) => {
            return Err(ApiError::invalid("password", "enter your password too"));
        }
        (_, password) => password,
    };
    let answer = assertion::identify_passkey(app, client, &body.ceremony, body.credential).await?;
    let user_id = answer.user_id;
    let method = match (mode, password) {
        (PasskeySignIn::WithPassword, Some(password)) => {
            let (checked, _) = password_step(app, &answer.username, password, client).await?;
            if checked != user_id {
                return Err(ApiError::InvalidCredentials);
            }
            "passkey_and_password"
        }
        _ => "passkey",
    };
    let done = assertion::finish_passkey(app, client, answer).await?;
    Ok((
        user_id,
        signed_in(app, user_id, client, done, method).await?,
    ))
}

/// The user's active sessions; `current` marks the caller's.
pub async fn sessions(app: &AppState, user_id: Uuid, current: Uuid) -> ApiResult<SessionList> {
    let active = logins::active_for_user(&app.db, user_id, app.clock.now()).await?;
    let sessions = active
        .into_iter()
        .map(|l| SessionView {
            current: l.id == current,
            id: l.id,
            created_at: rfc3339(l.created_at),
            last_seen_at: rfc3339(l.last_seen_at),
            expires_at: rfc3339(l.expires_at),
            ip: l.ip,
            user_agent: l.user_agent,
        })
        .collect();
    Ok(SessionList { sessions })
}

/// The username of an account, if it exists.
pub async fn username(app: &AppState, user_id: Uuid) -> ApiResult<Option<String>> {
    Ok(users::by_id(&app.db, user_id).await?.map(|u| u.username))
}
