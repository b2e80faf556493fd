//! Sign-up, sign-in (password, then key), sign-out, and who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::AppendHeaders;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{self, AuthState, PasswordDone, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::flows::account::{self, Next, open_login};
use crate::flows::{assertion, throttle};
use crate::routes::schemas;
use crate::state::AppState;
use crate::store::ceremonies::Purpose;
use crate::store::{audit, users};

/// Sign-up and sign-in routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(password))
        .routes(routes!(key_options))
        .routes(routes!(key_verify))
        .routes(routes!(sign_out))
        .routes(routes!(session_info))
        .routes(routes!(change_password))
}

/// Username and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    /// 3-32 characters: lower-case letters, digits, `.`, `_`, `-`.
    pub(crate) username: String,
    /// At least 12 characters.
    #[schema(value_type = String, format = Password)]
    pub(crate) password: SecretString,
}

/// A ceremony answer: the ceremony id and the browser's `credential.toJSON()`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CeremonyAnswer {
    /// Ceremony id from the options response.
    pub ceremony: Uuid,
    /// The WebAuthn response (`PublicKeyCredential.toJSON()`).
    #[schema(value_type = Object)]
    pub credential: Value,
}

fn next_json(next: Next) -> Value {
    json!({ "next": match next { Next::Key => "key", Next::EnrolKey => "enrol_key" } })
}

/// Creates an account; the session may then only enrol a first key.
#[utoipa::path(post, path = "/v1/signup", tag = "account", request_body = Credentials,
    responses(
        (status = 201, description = "Account created", body = schemas::SignedUp),
        (status = 409, description = "username-taken", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "busy", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn sign_up(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user_id = account::sign_up(&app, &body.username, body.password, &client).await?;
    auth::advance(
        &session,
        AuthState::Enrolling {
            user_id,
            at: app.clock.now(),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user_id": user_id, "next": "enrol_key" })),
    ))
}

/// The password step of sign-in.
#[utoipa::path(post, path = "/v1/signin/password", tag = "account", request_body = Credentials,
    responses(
        (status = 200, description = "Password accepted; the key step follows", body = schemas::NextStep),
        (status = 401, description = "invalid-credentials", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "busy", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn password(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Json<Value>> {
    let (user_id, next) =
        account::password_step(&app, &body.username, body.password, &client).await?;
    let at = app.clock.now();
    let state = match next {
        Next::Key => AuthState::Password { user_id, at },
        Next::EnrolKey => AuthState::Enrolling { user_id, at },
    };
    auth::advance(&session, state).await?;
    Ok(Json(next_json(next)))
}

/// A key challenge for the sign-in (after the password).
#[utoipa::path(post, path = "/v1/signin/key/options", tag = "account", security(("session" = [])),
    responses(
        (status = 200, description = "WebAuthn request options", body = schemas::CeremonyOptions),
        (status = 403, description = "forbidden", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn key_options(State(app): State<AppState>, who: PasswordDone) -> ApiResult<Json<Value>> {
    let uv = app.config.user_verification.sign_in;
    Ok(Json(
        assertion::start(&app, who.user_id, Purpose::SignIn, uv).await?,
    ))
}

/// The key step of sign-in: signs the session in (its id rotates).
#[utoipa::path(post, path = "/v1/signin/key/verify", tag = "account", security(("session" = [])),
    request_body = CeremonyAnswer,
    responses(
        (status = 200, description = "Signed in", body = schemas::SignedIn),
        (status = 400, description = "ceremony-unknown, ceremony-refused", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 410, description = "ceremony-expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn key_verify(
    State(app): State<AppState>,
    who: PasswordDone,
    client: Client,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<SignedInResponse> {
    let result = sign_in_with_key(app, who, client, body).await;
    crate::metrics::ceremony("sign_in", crate::metrics::outcome(&result));
    result
}

/// The sign-in answer and the device cookie that remembers the browser.
type SignedInResponse = (DeviceCookie, Json<Value>);

async fn sign_in_with_key(
    app: AppState,
    who: PasswordDone,
    client: Client,
    body: CeremonyAnswer,
) -> ApiResult<SignedInResponse> {
    let uv = app.config.user_verification.sign_in;
    let mut done = assertion::finish(
        &app,
        who.user_id,
        &client,
        assertion::Sender::Browser,
        Purpose::SignIn,
        body.ceremony,
        body.credential,
        uv,
    )
    .await?;
    let now = app.clock.now();
    let login_id = open_login(&app, &mut done.tx, who.user_id, &client, now).await?;
    throttle::reset_account(&mut done.tx, &done.account_scope).await?;
    let detail = json!({ "key_id": done.credential.id, "login_id": login_id, "user_verified": done.user_verified });
    let event = audit::Event {
        user_id: Some(who.user_id),
        event: "signin.succeeded",
        detail,
        ip: Some(&client.ip),
    };
    audit::append(&mut done.tx, &event, now).await?;
    done.tx.commit().await?;
    auth::advance(
        &who.session,
        AuthState::SignedIn {
            user_id: who.user_id,
            login_id,
            key_at: now,
        },
    )
    .await?;
    Ok((
        remember_device(&app, &client, &done.username),
        Json(json!({ "signed_in": true, "user_id": who.user_id })),
    ))
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

/// Ends the session server-side.
#[utoipa::path(post, path = "/v1/signout", tag = "account", security(("session" = [])),
    responses((status = 204, description = "Signed out")))]
async fn sign_out(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
) -> ApiResult<StatusCode> {
    account::end_login(&app, who.user_id, who.login_id, "signed_out", &client).await?;
    who.session.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    pub(crate) current_password: SecretString,
    /// The new password (at least 12 characters).
    #[schema(value_type = String, format = Password)]
    pub(crate) new_password: SecretString,
}

/// Changes the password (needs a fresh key assertion); ends the other
/// sessions and holds withdrawals.
#[utoipa::path(post, path = "/v1/password", tag = "account", security(("session" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Password changed", body = schemas::PasswordChanged),
        (status = 401, description = "invalid-credentials", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "reauth-required", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 429, description = "throttled, account-locked", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ))]
async fn change_password(
    State(app): State<AppState>,
    who: SignedIn,
    client: Client,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<Json<Value>> {
    who.require_fresh_key(&app)?;
    let done = account::change_password(
        &app,
        &who,
        body.current_password,
        body.new_password,
        &client,
    )
    .await?;
    Ok(Json(json!({
        "changed": true,
        "sessions_ended": done.sessions_ended,
        "api_keys_revoked": done.api_keys_revoked,
    })))
}

/// The session's stage and, when signed in, the user.
#[utoipa::path(get, path = "/v1/session", tag = "account", security((), ("session" = [])),
    responses((status = 200, description = "The session's stage", body = schemas::SessionInfo)))]
async fn session_info(
    State(app): State<AppState>,
    session: Session,
    // Runs the full signed-in check first: a login ended elsewhere or timed
    // out is forgotten here, so the stage below is never stale.
    _live: Result<SignedIn, ApiError>,
) -> ApiResult<Json<Value>> {
    let (stage, user_id) = match auth::load(&session).await? {
        None => ("anonymous", None),
        // A sign-in (or first enrolment) left too long: start again.
        Some(AuthState::Password { at, .. } | AuthState::Enrolling { at, .. })
            if auth::step_expired(&app, at) =>
        {
            ("expired", None)
        }
        Some(AuthState::Password { user_id, .. }) => ("password", Some(user_id)),
        Some(AuthState::Enrolling { user_id, .. }) => ("enrolling", Some(user_id)),
        Some(AuthState::SignedIn { user_id, .. }) => ("signed_in", Some(user_id)),
    };
    let username = match user_id {
        Some(id) => users::by_id(&app.db, id).await?.map(|u| u.username),
        None => None,
    };
    Ok(Json(
        json!({ "stage": stage, "user_id": user_id, "username": username }),
    ))
}
