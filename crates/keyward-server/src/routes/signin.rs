//! Sign-up, sign-in (password, then key), sign-out, and who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::AppendHeaders;
use keyward_api::Problem;
use keyward_api::account::{
    Credentials, Next, NextStep, PasskeyAnswer, PasskeyOptions, PasswordChange, PasswordChanged,
    SessionInfo, SignedIn as Welcome, SignedUp, Stage,
};
use keyward_api::keys::{CeremonyAnswer, CeremonyOptions};
use tower_sessions::Session;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{self, AuthState, PasswordDone, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::flows::assertion::Purpose;
use crate::flows::{account, assertion, security_lock};
use crate::state::AppState;

/// Sign-up and sign-in routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(password))
        .routes(routes!(key_options))
        .routes(routes!(key_verify))
        .routes(routes!(passkey_options))
        .routes(routes!(passkey_verify))
        .routes(routes!(sign_out))
        .routes(routes!(session_info))
        .routes(routes!(change_password))
}

/// Creates an account; the session may then only enrol a first key.
#[utoipa::path(post, path = "/v1/signup", tag = "account", request_body = Credentials,
    responses(
        (status = 201, description = "Account created", body = SignedUp),
        (status = 409, description = "username-taken", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "busy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_up(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<SignedUp>)> {
    let user_id = account::sign_up(&app, &body.username, body.password, &client).await?;
    let at = app.clock.now();
    auth::advance(&session, AuthState::Enrolling { user_id, at }).await?;
    let next = Next::EnrolKey;
    Ok((StatusCode::CREATED, Json(SignedUp { user_id, next })))
}

/// The password step of sign-in.
#[utoipa::path(post, path = "/v1/signin/password", tag = "account", request_body = Credentials,
    responses(
        (status = 200, description = "Password accepted; the key step follows", body = NextStep),
        (status = 401, description = "invalid-credentials", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "busy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn password(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Json<NextStep>> {
    let (user_id, next) =
        account::password_step(&app, &body.username, body.password, &client).await?;
    let at = app.clock.now();
    let state = match next {
        Next::Key => AuthState::Password { user_id, at },
        Next::EnrolKey => AuthState::Enrolling { user_id, at },
    };
    auth::advance(&session, state).await?;
    Ok(Json(NextStep { next }))
}

/// A key challenge for the sign-in (after the password).
#[utoipa::path(post, path = "/v1/signin/key/options", tag = "account", security(("session" = [])),
    responses(
        (status = 200, description = "WebAuthn request options", body = CeremonyOptions),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
    ))]
async fn key_options(
    State(app): State<AppState>,
    who: PasswordDone,
    client: Client,
) -> ApiResult<Json<CeremonyOptions>> {
    let uv = account::sign_in_uv(&app, who.user_id, &client).await?;
    Ok(Json(
        assertion::start(&app, who.user_id, Purpose::SignIn, uv).await?,
    ))
}

/// The key step of sign-in: signs the session in (its id rotates).
#[utoipa::path(post, path = "/v1/signin/key/verify", tag = "account", security(("session" = [])),
    request_body = CeremonyAnswer,
    responses(
        (status = 200, description = "Signed in", body = Welcome),
        (status = 400, description = "ceremony-refused", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ceremony-unknown, policy-refused", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
    ))]
async fn key_verify(
    State(app): State<AppState>,
    who: PasswordDone,
    client: Client,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<(DeviceCookie, Json<Welcome>)> {
    let result = account::sign_in_with_key(&app, who.user_id, &client, body).await;
    crate::metrics::ceremony("sign_in", crate::metrics::outcome(&result));
    welcome(&app, &who.session, &client, who.user_id, result?).await
}

/// A completed sign-in: the session signed in (its id rotates), the browser
/// remembered for the account.
async fn welcome(
    app: &AppState,
    session: &Session,
    client: &Client,
    user_id: uuid::Uuid,
    done: account::SignedInWithKey,
) -> ApiResult<(DeviceCookie, Json<Welcome>)> {
    let state = AuthState::SignedIn {
        user_id,
        login_id: done.login_id,
        key_at: done.at,
    };
    auth::advance(session, state).await?;
    Ok((
        remember_device(app, client, &done.username),
        Json(Welcome {
            signed_in: true,
            user_id,
        }),
    ))
}

/// Options for signing in with a passkey (no username typed): the
/// authenticator offers the credentials it keeps for this site.
#[utoipa::path(post, path = "/v1/signin/passkey/options", tag = "account",
    responses(
        (status = 200, description = "WebAuthn request options with an empty allow-list", body = PasskeyOptions),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
    ))]
async fn passkey_options(State(app): State<AppState>) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(account::passkey_options(&app).await?))
}

/// Signs in with a passkey (and the password, where the deployment asks
/// for it): signs the session in (its id rotates).
#[utoipa::path(post, path = "/v1/signin/passkey/verify", tag = "account",
    request_body = PasskeyAnswer,
    responses(
        (status = 200, description = "Signed in", body = Welcome),
        (status = 400, description = "ceremony-refused", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid-credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ceremony-unknown, policy-refused", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "busy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn passkey_verify(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    ApiJson(body): ApiJson<PasskeyAnswer>,
) -> ApiResult<(DeviceCookie, Json<Welcome>)> {
    let result = account::sign_in_with_passkey(&app, &client, body).await;
    crate::metrics::ceremony("passkey_sign_in", crate::metrics::outcome(&result));
    let (user_id, done) = result?;
    welcome(&app, &session, &client, user_id, done).await
}

/// A `Set-Cookie` header.
pub(crate) type DeviceCookie = AppendHeaders<[(header::HeaderName, String); 1]>;

/// The device cookie that remembers this browser for `username` once it has
/// signed in: its failed attempts then no longer share the scope strangers
/// can exhaust (see `flows::throttle`). Keeps the device id it had.
pub(crate) fn remember_device(app: &AppState, client: &Client, username: &str) -> DeviceCookie {
    let known = client
        .device_cookie
        .as_deref()
        .and_then(|c| app.devices.verify(c, username));
    AppendHeaders([(header::SET_COOKIE, app.devices.set_cookie(username, known))])
}

/// Ends the session server-side: a signed-in session, or a sign-in or
/// enrolment left half-way ("Sign in as someone else").
#[utoipa::path(post, path = "/v1/signout", tag = "account", security(("session" = [])),
    responses((status = 204, description = "Signed out")))]
async fn sign_out(
    State(app): State<AppState>,
    session: Session,
    client: Client,
) -> ApiResult<StatusCode> {
    match auth::load(&session).await? {
        Some(AuthState::SignedIn {
            user_id, login_id, ..
        }) => account::end_login(&app, user_id, login_id, "signed_out", &client).await?,
        Some(_) => {}
        None => return Err(ApiError::Unauthenticated),
    }
    session.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the password (needs a fresh key assertion); ends the other
/// sessions and holds withdrawals.
#[utoipa::path(post, path = "/v1/password", tag = "account", security(("session" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Password changed", body = PasswordChanged),
        (status = 401, description = "invalid-credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "reauth-required", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_password(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<Json<PasswordChanged>> {
    who.require_fresh_key(&app)?;
    let (current, new) = (body.current_password, body.new_password);
    let session = (who.user_id, who.login_id);
    Ok(Json(
        account::change_password(&app, session, current, new, &client).await?,
    ))
}

/// The session's stage and, when signed in, the user.
#[utoipa::path(get, path = "/v1/session", tag = "account", security((), ("session" = [])),
    responses((status = 200, description = "The session's stage", body = SessionInfo)))]
async fn session_info(
    State(app): State<AppState>,
    session: Session,
    // Runs the full signed-in check first: a login ended elsewhere or timed
    // out is forgotten here, so the stage below is never stale.
    _live: Result<SignedIn, ApiError>,
) -> ApiResult<Json<SessionInfo>> {
    let (stage, user_id) = match auth::load(&session).await? {
        None => (Stage::Anonymous, None),
        Some(AuthState::Password { at, .. } | AuthState::Enrolling { at, .. })
            if auth::step_expired(&app, at) =>
        {
            (Stage::Expired, None)
        }
        Some(AuthState::Password { user_id, .. }) => (Stage::Password, Some(user_id)),
        Some(AuthState::Enrolling { user_id, .. }) => (Stage::Enrolling, Some(user_id)),
        Some(AuthState::SignedIn { user_id, .. }) => (Stage::SignedIn, Some(user_id)),
    };
    let username = match user_id {
        Some(id) => account::username(&app, id).await?,
        None => None,
    };
    let security_lock_days = match (stage, user_id) {
        (Stage::SignedIn, Some(id)) => {
            let now = app.clock.now();
            security_lock::stored(&app, id).await?.days_at(now)
        }
        _ => 0,
    };
    Ok(Json(SessionInfo {
        stage,
        user_id,
        username,
        security_hold_hours: app.config.withdrawals.hold.as_secs() / 3_600,
        security_lock_days,
    }))
}
