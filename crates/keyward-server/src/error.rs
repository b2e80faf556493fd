//! API errors and their RFC 9457 problem+json form. Each variant is named
//! after its problem kind (`keyward_api::ProblemKind`), which carries the
//! status and title; nothing else decides an HTTP status. Internal error text never reaches a client:
//! a 500's detail is logged once, here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_api::api_keys::ApiKeyRefusal;
use keyward_api::{PROBLEM_JSON, PolicyReason, Problem, ProblemKind};
use keyward_fido::FidoError;

use crate::domain::ValidationError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field failed validation.
    #[error("{field}: {detail}")]
    Validation {
        /// The offending field (a path such as `credential.response`).
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The body is not valid JSON or has wrong types.
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    /// `Content-Type` is not `application/json`.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// The body is larger than allowed.
    #[error("request body too large")]
    PayloadTooLarge,
    /// No valid session (or not the right kind).
    #[error("sign in first")]
    Unauthenticated,
    /// Username or password wrong (deliberately not saying which).
    #[error("username or password is incorrect")]
    InvalidCredentials,
    /// A state-changing browser request came without the configured Origin.
    #[error("request origin is not allowed")]
    OriginMismatch,
    /// The session may not do this yet (e.g. enrol a key first).
    #[error("{0}")]
    Forbidden(&'static str),
    /// A fresh key assertion is needed first.
    #[error("confirm with your security key first (re-authentication required)")]
    ReauthRequired,
    /// The thing asked for does not exist (for this user).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The username is taken.
    #[error("username is already taken")]
    UsernameTaken,
    /// The security key is already enrolled (here or by another account).
    #[error("this security key is already registered")]
    CredentialExists,
    /// Removing the last key would lock the user out.
    #[error("the last security key cannot be removed; add another key first")]
    LastKey,
    /// An account recovery is already under way.
    #[error(
        "a recovery of this account is already under way; it completes at {0} unless one of the account's keys cancels it"
    )]
    RecoveryPending(String),
    /// The recovery's waiting time has not passed.
    #[error("the recovery can be completed from {0}, not before")]
    RecoveryNotDue(String),
    /// The same operator action already waits for a second operator.
    #[error("{0} for the same action already waits for a second operator; approve or cancel it")]
    OperatorRequestPending(String),
    /// The operator request is no longer pending.
    #[error("the request is {0} and can no longer be approved or cancelled")]
    OperatorRequestClosed(&'static str),
    /// The user's security lock delays the change (why, and until when).
    #[error("{0}")]
    SecurityLocked(String),
    /// The operator who asked tried to approve their own request.
    #[error("a second operator, with another admin key by another name, must approve this request")]
    SameOperator,
    /// The ceremony id is unknown, used, or for another user or purpose.
    #[error("unknown or already used challenge; start again")]
    CeremonyUnknown,
    /// The ceremony expired.
    #[error("the challenge expired; start again")]
    CeremonyExpired,
    /// The authenticator's response failed a WebAuthn check.
    #[error("the security key response was refused ({reason})")]
    CeremonyRefused {
        /// Stable reason code.
        reason: &'static str,
    },
    /// Too many failures; try again later.
    #[error("too many failed attempts; try again in {retry_after} seconds")]
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The operator locked the account (`keyward user lock`).
    #[error("this account is locked; contact support")]
    AccountLocked,
    /// Missing, malformed, unknown or revoked service key.
    #[error("a valid service key is required (Authorization: Bearer kw_svc_...)")]
    InvalidServiceKey,
    /// The service key lacks a scope.
    #[error("the service key lacks the `{0}` scope")]
    InsufficientScope(&'static str),
    /// The client reference was used before for different details.
    #[error("this client_reference was already used for a different request")]
    IdempotencyConflict,
    /// The step-up is no longer waiting for approval.
    #[error("the step-up is not pending (status: {0})")]
    StepUpNotPending(String),
    /// The step-up's approval window passed.
    #[error("the step-up expired before it was approved")]
    StepUpExpired,
    /// Redeem of a step-up that was not approved.
    #[error("the step-up has not been approved (status: {0})")]
    NotApproved(String),
    /// The request's details differ from what the user approved.
    #[error("the details differ from what was approved with the security key")]
    StepUpMismatch,
    /// The user has as many live API keys as allowed.
    #[error("at most {0} live API keys; revoke one first")]
    TooManyApiKeys(i64),
    /// A presented API key was refused.
    #[error("API key refused ({0})")]
    ApiKeyRefused(ApiKeyRefusal),
    /// Redeem of a step-up that was already redeemed.
    #[error("the approval was already redeemed")]
    AlreadyRedeemed,
    /// Redeem after the approval expired.
    #[error("the approval expired")]
    ApprovalExpired,
    /// The withdrawal policy refused (at redeem, or a user action).
    #[error("refused by withdrawal policy ({reason})")]
    PolicyRefused {
        /// Why.
        reason: PolicyReason,
    },
    /// Too much work queued (password hashing): try again shortly.
    #[error("the server is busy; try again in {retry_after} seconds")]
    Busy {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Signing or another dependency is unavailable: fail closed.
    #[error("service unavailable; nothing was approved")]
    Unavailable(#[source] anyhow::Error),
    /// No route here.
    #[error("no such endpoint")]
    RouteNotFound,
    /// The route exists, but not for this method.
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    /// Anything unexpected. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The problem kind; its status, slug and title come from the catalogue
    /// in `keyward_api::problem`.
    pub fn kind(&self) -> ProblemKind {
        use ProblemKind as K;
        match self {
            Self::Validation { .. } => K::Validation,
            Self::MalformedBody(_) => K::MalformedBody,
            Self::UnsupportedMediaType => K::UnsupportedMediaType,
            Self::PayloadTooLarge => K::PayloadTooLarge,
            Self::Unauthenticated => K::Unauthenticated,
            Self::InvalidCredentials => K::InvalidCredentials,
            Self::OriginMismatch => K::OriginMismatch,
            Self::Forbidden(_) => K::Forbidden,
            Self::ReauthRequired => K::ReauthRequired,
            Self::NotFound(_) => K::NotFound,
            Self::UsernameTaken => K::UsernameTaken,
            Self::CredentialExists => K::CredentialExists,
            Self::LastKey => K::LastKey,
            Self::RecoveryPending(_) => K::RecoveryPending,
            Self::RecoveryNotDue(_) => K::RecoveryNotDue,
            Self::OperatorRequestPending(_) => K::OperatorRequestPending,
            Self::OperatorRequestClosed(_) => K::OperatorRequestClosed,
            Self::SameOperator => K::SameOperator,
            Self::SecurityLocked(_) => K::SecurityLocked,
            Self::CeremonyUnknown => K::CeremonyUnknown,
            Self::CeremonyExpired => K::CeremonyExpired,
            Self::CeremonyRefused { .. } => K::CeremonyRefused,
            Self::Throttled { .. } => K::Throttled,
            Self::AccountLocked => K::AccountLocked,
            Self::InvalidServiceKey => K::InvalidServiceKey,
            Self::InsufficientScope(_) => K::InsufficientScope,
            Self::IdempotencyConflict => K::IdempotencyConflict,
            Self::StepUpNotPending(_) => K::StepUpNotPending,
            Self::StepUpExpired => K::StepUpExpired,
            Self::NotApproved(_) => K::NotApproved,
            Self::StepUpMismatch => K::StepUpMismatch,
            Self::TooManyApiKeys(_) => K::TooManyApiKeys,
            Self::ApiKeyRefused(_) => K::ApiKeyRefused,
            Self::AlreadyRedeemed => K::AlreadyRedeemed,
            Self::ApprovalExpired => K::ApprovalExpired,
            Self::PolicyRefused { .. } => K::PolicyRefused,
            Self::Busy { .. } => K::Busy,
            Self::Unavailable(_) => K::Unavailable,
            Self::RouteNotFound => K::RouteNotFound,
            Self::MethodNotAllowed => K::MethodNotAllowed,
            Self::Internal(_) => K::Internal,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Shorthand for a validation error.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// The problem body: the kind's catalogue entry plus this occurrence.
    pub fn problem(&self) -> Problem {
        let mut problem = Problem::new(self.kind(), self.to_string());
        match self {
            Self::Validation { field, .. } => problem.field = Some(field.clone()),
            Self::CeremonyRefused { reason } => problem.reason = Some((*reason).to_owned()),
            Self::PolicyRefused { reason } => problem.reason = Some(reason.as_str().to_owned()),
            Self::ApiKeyRefused(reason) => problem.reason = Some(reason.as_str().to_owned()),
            _ => {}
        }
        problem
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::Validation {
            field: e.field.into_owned(),
            detail: e.detail.into_owned(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if is_outage(&e) {
            Self::Unavailable(e.into())
        } else {
            Self::Internal(e.into())
        }
    }
}

/// Whether a database error says the database cannot be reached or cannot
/// write right now (connection lost or refused, pool exhausted, server
/// shutting down, disk full, I/O error, lock wait exhausted) rather than
/// that this request is wrong. Those answer 503 with `Retry-After`: the
/// client may try again, and the transaction that failed committed nothing
/// it acknowledged.
pub fn is_outage(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        E::Protocol(_) => true,
        E::Database(db) => db.code().is_some_and(|code| outage_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs and SQLite result codes that mean "not now".
fn outage_code(code: &str) -> bool {
    // PostgreSQL: 08 connection exception, 53 insufficient resources (disk
    // full, out of memory, too many connections), 57P01–57P03 shutting
    // down / cannot connect now, 25006 read-only (a failed-over standby).
    if code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code == "25006"
    {
        return true;
    }
    // SQLite reports the extended result code; its low byte is the primary
    // one: 5 BUSY, 6 LOCKED, 10 IOERR, 13 FULL, 14 CANTOPEN.
    code.parse::<u32>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 13 | 14))
}

impl From<FidoError> for ApiError {
    fn from(e: FidoError) -> Self {
        match e {
            FidoError::Refused { reason } => Self::CeremonyRefused { reason },
            FidoError::CounterRegression => Self::CeremonyRefused {
                reason: "counter_regression",
            },
            other => Self::Internal(other.into()),
        }
    }
}

impl From<tower_sessions::session::Error> for ApiError {
    fn from(e: tower_sessions::session::Error) -> Self {
        use tower_sessions::session::Error as S;
        use tower_sessions::session_store::Error as Store;
        // The store's backend is the database: its failures are outages.
        match e {
            S::Store(Store::Backend(_)) => Self::Unavailable(e.into()),
            other => Self::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // A database outage that reached here through `anyhow` (store
        // functions) is still an outage, not an internal error.
        let this = match self {
            Self::Internal(err)
                if err
                    .chain()
                    .any(|c| c.downcast_ref::<sqlx::Error>().is_some_and(is_outage)) =>
            {
                Self::Unavailable(err)
            }
            other => other,
        };
        this.respond()
    }
}

impl ApiError {
    fn respond(self) -> Response {
        match &self {
            Self::Internal(err) => tracing::error!(error = ?err, "internal error"),
            Self::Unavailable(err) => tracing::error!(error = %err, "unavailable: answered 503"),
            _ => {}
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if matches!(self, Self::InvalidServiceKey) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::Throttled { retry_after } | Self::Busy { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if matches!(self, Self::Unavailable(_)) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_the_kind_and_the_occurrence() {
        let p = ApiError::PolicyRefused {
            reason: PolicyReason::DailyLimitExceeded,
        }
        .problem();
        assert_eq!(p.type_, "https://keyward.dev/problems/policy-refused");
        assert_eq!((p.status, p.title.as_str()), (409, "Refused by policy"));
        assert_eq!(p.reason.as_deref(), Some("daily_limit_exceeded"));
        let p = ApiError::invalid("username", "too short").problem();
        assert_eq!(p.field.as_deref(), Some("username"));
        assert_eq!(
            ApiError::AccountLocked.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn internal_text_is_not_sent() {
        let resp = ApiError::Internal(anyhow::anyhow!("password=hunter2")).into_response();
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let dbg = format!("{:?}", resp.body());
        assert!(!dbg.contains("hunter2"));
    }

    #[test]
    fn database_outages_answer_503_with_retry_after() {
        let resp = ApiError::from(sqlx::Error::PoolTimedOut).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
        // Through a store function's anyhow error, too.
        let wrapped = anyhow::Error::from(sqlx::Error::PoolClosed).context("reading keys");
        let resp = ApiError::Internal(wrapped).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        // A query that is wrong is still an internal error.
        let resp = ApiError::from(sqlx::Error::RowNotFound).into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        for code in ["08006", "57P01", "53100", "13", "1034", "5"] {
            assert!(outage_code(code), "{code}");
        }
        for code in ["23505", "40001", "19", "2067"] {
            assert!(!outage_code(code), "{code}");
        }
    }

    #[test]
    fn throttled_sets_retry_after() {
        let resp = ApiError::Throttled { retry_after: 42 }.into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
    }
}
