//! What a browser session has proved, kept in the tower-sessions record, and
//! the extractors that demand a given stage. A session moves
//! password → key → signed in (or password → first-key enrolment); its id
//! rotates at every step.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::flows::account;
use crate::state::AppState;
use crate::store::logins;

const AUTH_KEY: &str = "auth";

/// The stage a session has reached.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum AuthState {
    /// Password accepted; the only thing allowed is answering a key challenge.
    Password {
        /// Whose password.
        user_id: Uuid,
        /// When the password was accepted.
        at: Millis,
    },
    /// The account has no key yet; the only thing allowed is enrolling one.
    Enrolling {
        /// Whose account.
        user_id: Uuid,
        /// When the password was accepted.
        at: Millis,
    },
    /// Password and key both proved.
    SignedIn {
        /// Who.
        user_id: Uuid,
        /// The server-side login record.
        login_id: Uuid,
        /// Last fresh key assertion (sign-in or re-authentication).
        key_at: Millis,
    },
}

/// Reads the session's stage.
pub async fn load(session: &Session) -> ApiResult<Option<AuthState>> {
    Ok(session.get::<AuthState>(AUTH_KEY).await?)
}

/// Moves the session to a new stage under a fresh session id (so an id seen
/// before a privilege change is worthless after it).
pub async fn advance(session: &Session, state: AuthState) -> ApiResult<()> {
    session.cycle_id().await?;
    session.insert(AUTH_KEY, state).await?;
    Ok(())
}

/// A session whose password step is done and whose key step is pending.
pub struct PasswordDone {
    /// The user.
    pub user_id: Uuid,
    /// The session.
    pub session: Session,
}

/// A session that may enrol a key: a new account without keys, or a
/// signed-in user (who must also have a fresh key assertion).
pub struct MayEnrol {
    /// The user.
    pub user_id: Uuid,
    /// The signed-in details, when signed in.
    pub signed_in: Option<SignedIn>,
    /// The session.
    pub session: Session,
}

/// A fully signed-in session whose login is still live.
#[derive(Clone)]
pub struct SignedIn {
    /// The user.
    pub user_id: Uuid,
    /// The login record.
    pub login_id: Uuid,
    /// Last fresh key assertion.
    pub key_at: Millis,
    /// The session.
    pub session: Session,
}

impl SignedIn {
    /// Fails unless a key assertion was made within the re-auth window.
    pub fn require_fresh_key(&self, app: &AppState) -> ApiResult<()> {
        let window = crate::clock::millis(app.config.reauth_window);
        if app.clock.now().saturating_sub(self.key_at) > window {
            return Err(ApiError::ReauthRequired);
        }
        Ok(())
    }
}

async fn session_of(parts: &mut Parts, app: &AppState) -> ApiResult<Session> {
    Session::from_request_parts(parts, app)
        .await
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("session layer missing")))
}

pub fn step_expired(app: &AppState, at: Millis) -> bool {
    let ttl = crate::clock::millis(app.config.ceremony_ttl);
    app.clock.now().saturating_sub(at) > ttl
}

impl FromRequestParts<AppState> for PasswordDone {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Self> {
        let session = session_of(parts, app).await?;
        match load(&session).await? {
            Some(AuthState::Password { user_id, at }) if !step_expired(app, at) => {
                Ok(Self { user_id, session })
            }
            // The sign-in began but took too long: say so (410), not "sign
            // in first"; the session stage reads `expired`.
            Some(AuthState::Password { .. }) => Err(ApiError::CeremonyExpired),
            _ => Err(ApiError::Unauthenticated),
        }
    }
}

impl FromRequestParts<AppState> for MayEnrol {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Self> {
        let session = session_of(parts, app).await?;
        match load(&session).await? {
            Some(AuthState::Enrolling { user_id, at }) if !step_expired(app, at) => Ok(Self {
                user_id,
                signed_in: None,
                session,
            }),
            Some(AuthState::SignedIn { .. }) => {
                let signed_in = SignedIn::from_request_parts(parts, app).await?;
                Ok(Self {
                    user_id: signed_in.user_id,
                    session: signed_in.session.clone(),
                    signed_in: Some(signed_in),
                })
            }
            Some(AuthState::Enrolling { .. }) => Err(ApiError::CeremonyExpired),
            _ => Err(ApiError::Unauthenticated),
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Self> {
        let session = session_of(parts, app).await?;
        let Some(AuthState::SignedIn {
            user_id,
            login_id,
            key_at,
        }) = load(&session).await?
        else {
            return Err(ApiError::Unauthenticated);
        };
        let now = app.clock.now();
        let idle_ms = crate::clock::millis(app.config.session.idle);
        let login = logins::get(&app.db, login_id)
            .await?
            .filter(|l| l.user_id == user_id && l.ended_at.is_none());
        let last_seen = login.as_ref().map_or(now, |l| l.last_seen_at);
        let live = match login {
            Some(l) if l.expires_at <= now => {
                account::expire_login(app, user_id, login_id, "absolute_timeout").await?;
                false
            }
            // The cookie store also expires idle sessions; this check uses
            // Keyward's clock and holds even if a cookie outlives its record.
            Some(l) if now.saturating_sub(l.last_seen_at) > idle_ms => {
                account::expire_login(app, user_id, login_id, "idle_timeout").await?;
                false
            }
            Some(_) => true,
            None => false,
        };
        if !live {
            // Ended elsewhere (logout, key removal, "end session") or timed
            // out: forget it here too.
            session.flush().await?;
            return Err(ApiError::Unauthenticated);
        }
        logins::touch(&app.db, login_id, last_seen, now).await?;
        Ok(Self {
            user_id,
            login_id,
            key_at,
            session,
        })
    }
}
