//! API errors and their RFC 9457 problem+json form. HTTP status codes are
//! decided here and nowhere else. Internal error text never reaches a client:
//! a 500's detail is logged once, here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_fido::FidoError;
use serde::Serialize;

/// Prefix of every problem `type` URI. The slug after it is stable.
pub const PROBLEM_BASE: &str = "https://keyward.dev/problems/";

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
    Locked,
    /// Missing, malformed, unknown or revoked service key.
    #[error("a valid service key is required (Authorization: Bearer kw_svc_...)")]
    ServiceUnauthenticated,
    /// The service key lacks a scope.
    #[error("the service key lacks the `{0}` scope")]
    MissingScope(&'static str),
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
    TooManyKeys(i64),
    /// A presented API key was refused.
    #[error("API key refused ({0})")]
    ApiKeyRefused(&'static str),
    /// Redeem of a step-up that was already redeemed.
    #[error("the approval was already redeemed")]
    AlreadyRedeemed,
    /// Redeem after the approval expired.
    #[error("the approval expired")]
    ApprovalExpired,
    /// The withdrawal policy refused (at redeem, or a user action).
    #[error("refused by withdrawal policy ({reason})")]
    PolicyRefused {
        /// Stable reason code.
        reason: String,
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

/// RFC 9457 problem details.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl ApiError {
    /// Status, stable slug and title for each error.
    pub fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::Validation { .. } => (S::UNPROCESSABLE_ENTITY, "validation", "Invalid input"),
            Self::MalformedBody(_) => (S::BAD_REQUEST, "malformed-body", "Malformed request body"),
            Self::UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::PayloadTooLarge => (
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            Self::Unauthenticated => (S::UNAUTHORIZED, "unauthenticated", "Not signed in"),
            Self::InvalidCredentials => (S::UNAUTHORIZED, "invalid-credentials", "Sign-in failed"),
            Self::OriginMismatch => (S::FORBIDDEN, "origin-mismatch", "Origin not allowed"),
            Self::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Not allowed"),
            Self::ReauthRequired => (
                S::FORBIDDEN,
                "reauth-required",
                "Re-authentication required",
            ),
            Self::NotFound(_) => (S::NOT_FOUND, "not-found", "Not found"),
            Self::UsernameTaken => (S::CONFLICT, "username-taken", "Username taken"),
            Self::CredentialExists => (S::CONFLICT, "credential-exists", "Key already registered"),
            Self::LastKey => (S::CONFLICT, "last-key", "Last key"),
            Self::CeremonyUnknown => (S::BAD_REQUEST, "ceremony-unknown", "Unknown challenge"),
            Self::CeremonyExpired => (S::GONE, "ceremony-expired", "Challenge expired"),
            Self::CeremonyRefused { .. } => (
                S::BAD_REQUEST,
                "ceremony-refused",
                "Security key response refused",
            ),
            Self::Throttled { .. } => (S::TOO_MANY_REQUESTS, "throttled", "Too many attempts"),
            Self::Locked => (S::TOO_MANY_REQUESTS, "account-locked", "Account locked"),
            Self::ServiceUnauthenticated => (
                S::UNAUTHORIZED,
                "invalid-service-key",
                "Service key required",
            ),
            Self::MissingScope(_) => (S::FORBIDDEN, "insufficient-scope", "Insufficient scope"),
            Self::IdempotencyConflict => (
                S::CONFLICT,
                "idempotency-conflict",
                "Client reference reused",
            ),
            Self::StepUpNotPending(_) => {
                (S::CONFLICT, "step-up-not-pending", "Step-up not pending")
            }
            Self::StepUpExpired => (S::GONE, "step-up-expired", "Step-up expired"),
            Self::NotApproved(_) => (S::CONFLICT, "not-approved", "Not approved"),
            Self::AlreadyRedeemed => (S::CONFLICT, "already-redeemed", "Already redeemed"),
            Self::StepUpMismatch => (
                S::CONFLICT,
                "step-up-mismatch",
                "Details differ from the approval",
            ),
            Self::TooManyKeys(_) => (S::CONFLICT, "too-many-api-keys", "Too many API keys"),
            Self::ApiKeyRefused(_) => (S::FORBIDDEN, "api-key-refused", "API key refused"),
            Self::ApprovalExpired => (S::GONE, "approval-expired", "Approval expired"),
            Self::PolicyRefused { .. } => (S::CONFLICT, "policy-refused", "Refused by policy"),
            Self::Busy { .. } => (S::SERVICE_UNAVAILABLE, "busy", "Server busy"),
            Self::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::RouteNotFound => (S::NOT_FOUND, "route-not-found", "No such endpoint"),
            Self::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    /// Shorthand for a validation error.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
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
        Self::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        if let Self::Internal(err) | Self::Unavailable(err) = &self {
            tracing::error!(error = ?err, "internal error");
        }
        let (field, reason) = match &self {
            Self::Validation { field, .. } => (Some(field.as_str()), None),
            Self::CeremonyRefused { reason } => (None, Some(*reason)),
            Self::PolicyRefused { reason } => (None, Some(reason.as_str())),
            Self::ApiKeyRefused(reason) => (None, Some(*reason)),
            _ => (None, None),
        };
        let problem = Problem {
            type_: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail: self.to_string(),
            field,
            reason,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, Self::ServiceUnauthenticated) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::Throttled { retry_after } | Self::Busy { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
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
    fn each_error_has_its_status_and_slug() {
        use StatusCode as S;
        let cases: Vec<(ApiError, S, &str)> = vec![
            (
                ApiError::invalid("username", "x"),
                S::UNPROCESSABLE_ENTITY,
                "validation",
            ),
            (
                ApiError::MalformedBody("x".into()),
                S::BAD_REQUEST,
                "malformed-body",
            ),
            (
                ApiError::UnsupportedMediaType,
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
            ),
            (
                ApiError::PayloadTooLarge,
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
            ),
            (
                ApiError::Unauthenticated,
                S::UNAUTHORIZED,
                "unauthenticated",
            ),
            (
                ApiError::InvalidCredentials,
                S::UNAUTHORIZED,
                "invalid-credentials",
            ),
            (ApiError::OriginMismatch, S::FORBIDDEN, "origin-mismatch"),
            (ApiError::Forbidden("x"), S::FORBIDDEN, "forbidden"),
            (ApiError::ReauthRequired, S::FORBIDDEN, "reauth-required"),
            (ApiError::NotFound("key"), S::NOT_FOUND, "not-found"),
            (ApiError::UsernameTaken, S::CONFLICT, "username-taken"),
            (ApiError::CredentialExists, S::CONFLICT, "credential-exists"),
            (ApiError::LastKey, S::CONFLICT, "last-key"),
            (
                ApiError::CeremonyUnknown,
                S::BAD_REQUEST,
                "ceremony-unknown",
            ),
            (ApiError::CeremonyExpired, S::GONE, "ceremony-expired"),
            (
                ApiError::CeremonyRefused { reason: "x" },
                S::BAD_REQUEST,
                "ceremony-refused",
            ),
            (
                ApiError::Throttled { retry_after: 1 },
                S::TOO_MANY_REQUESTS,
                "throttled",
            ),
            (ApiError::Locked, S::TOO_MANY_REQUESTS, "account-locked"),
            (
                ApiError::ServiceUnauthenticated,
                S::UNAUTHORIZED,
                "invalid-service-key",
            ),
            (
                ApiError::MissingScope("x"),
                S::FORBIDDEN,
                "insufficient-scope",
            ),
            (
                ApiError::IdempotencyConflict,
                S::CONFLICT,
                "idempotency-conflict",
            ),
            (
                ApiError::StepUpNotPending("x".into()),
                S::CONFLICT,
                "step-up-not-pending",
            ),
            (ApiError::StepUpExpired, S::GONE, "step-up-expired"),
            (
                ApiError::NotApproved("x".into()),
                S::CONFLICT,
                "not-approved",
            ),
            (ApiError::AlreadyRedeemed, S::CONFLICT, "already-redeemed"),
            (ApiError::StepUpMismatch, S::CONFLICT, "step-up-mismatch"),
            (ApiError::TooManyKeys(30), S::CONFLICT, "too-many-api-keys"),
            (
                ApiError::ApiKeyRefused("revoked"),
                S::FORBIDDEN,
                "api-key-refused",
            ),
            (ApiError::ApprovalExpired, S::GONE, "approval-expired"),
            (
                ApiError::PolicyRefused { reason: "x".into() },
                S::CONFLICT,
                "policy-refused",
            ),
            (
                ApiError::Busy { retry_after: 1 },
                S::SERVICE_UNAVAILABLE,
                "busy",
            ),
            (
                ApiError::Unavailable(anyhow::anyhow!("x")),
                S::SERVICE_UNAVAILABLE,
                "unavailable",
            ),
            (ApiError::RouteNotFound, S::NOT_FOUND, "route-not-found"),
            (
                ApiError::MethodNotAllowed,
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
            ),
            (
                ApiError::Internal(anyhow::anyhow!("secret db text")),
                S::INTERNAL_SERVER_ERROR,
                "internal",
            ),
        ];
        for (err, status, slug) in cases {
            let (s, sl, _) = err.parts();
            assert_eq!((s, sl), (status, slug), "{err:?}");
        }
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
    fn throttled_sets_retry_after() {
        let resp = ApiError::Throttled { retry_after: 42 }.into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
    }
}
