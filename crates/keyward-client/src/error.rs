//! The client's error type, and how Keyward's RFC 9457 problem bodies map to it.

use keyward_api::{Problem, ProblemKind};

use crate::types::{ApiKeyRefusal, PolicyReason, StepUpStatus};

/// Everything a [`KeywardClient`](crate::KeywardClient) call can fail with.
///
/// Problem responses from Keyward (`application/problem+json`) are mapped by
/// the slug at the end of their `type` (`…/problems/<slug>`); anything not
/// listed becomes [`Error::Http`]. Messages never quote keys or tokens.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `already-redeemed`: the approval was redeemed before. Do not pay again.
    #[error("the approval was already redeemed")]
    AlreadyRedeemed,
    /// `approval-expired`: the approval was not redeemed in time.
    #[error("the approval expired")]
    ApprovalExpired,
    /// `not-approved`: the step-up has not been approved (yet).
    #[error("the step-up has not been approved")]
    NotApproved,
    /// `policy-refused`: the withdrawal policy said no at redeem time (for
    /// example `withdrawals_frozen`, `held`, `daily_limit_exceeded`).
    #[error("refused by withdrawal policy ({reason})")]
    PolicyRefused {
        /// Keyward's stable reason code.
        reason: PolicyReason,
    },
    /// `invalid-service-key`: the service key is missing, unknown or revoked.
    #[error("the service key was not accepted")]
    Unauthorized,
    /// `insufficient-scope` (or another 403): the service key lacks a scope.
    #[error("the service key is not allowed to do this")]
    Forbidden,
    /// `not-found`: no such step-up (or user).
    #[error("not found")]
    NotFound,
    /// `validation`: a field of the request was refused.
    #[error("invalid {field}: {detail}")]
    Validation {
        /// The offending field, e.g. `details.amount`.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// `api-key-refused`: the presented user API key may not be used.
    #[error("API key refused ({reason})")]
    ApiKeyRefused {
        /// Why, as Keyward reported it.
        reason: ApiKeyRefusal,
    },
    /// Any other error response.
    #[error("HTTP {status} ({type_})")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The problem `type` URI (`about:blank` when the body had none).
        type_: String,
        /// The problem `detail`, if any.
        detail: Option<String>,
    },
    /// The request did not complete, or the response could not be read.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// The base URL cannot be used.
    #[error("invalid base URL: {0}")]
    InvalidUrl(String),
    /// [`wait_for_approval`](crate::KeywardClient::wait_for_approval): the
    /// step-up was still pending when the timeout passed.
    #[error("timed out waiting for the approval")]
    Timeout,
    /// [`wait_for_approval`](crate::KeywardClient::wait_for_approval): the
    /// step-up left `pending` without being approved.
    #[error("the step-up ended without approval (status: {status:?})")]
    Ended {
        /// The final status (`held`, `denied`, `expired`, ...).
        status: StepUpStatus,
        /// Keyward's reason, when held or denied.
        reason: Option<PolicyReason>,
    },
    /// An approval token was refused by offline verification.
    #[error("approval token refused: {0}")]
    Token(#[from] TokenError),
    /// An approval's evidence did not verify: do not pay. `reason` is a
    /// stable slug (`details_differ`, `assertion_invalid`,
    /// `key_not_in_chain`, `chain_invalid`, `user_not_verified`,
    /// `missing_evidence`, …).
    #[error("approval not verified ({reason}): {detail}")]
    Unverified {
        /// Why, as a slug.
        reason: &'static str,
        /// What was found.
        detail: String,
    },
    /// The user's key chain has another genesis than the one pinned: it
    /// started again (account recovery, an operator reset) or Keyward's
    /// data was replaced. Not paid; confirm with the user out of band, then
    /// [`Verifier::accept_restart`](crate::Verifier::accept_restart).
    #[error("the user's key chain started again (pinned genesis {pinned}, now {genesis})")]
    ChainRestarted {
        /// The genesis the exchange pinned.
        pinned: String,
        /// The chain's genesis now.
        genesis: String,
        /// The head the new chain says it replaced.
        restarted_from: Option<String>,
        /// The new chain says it follows an account recovery (the user
        /// lost their keys and waited out Keyward's recovery delay).
        recovered: bool,
    },
    /// The pin store failed.
    #[error("{0}")]
    PinStore(String),
}

/// Why [`verify_approval`](crate::KeywardClient::verify_approval) refused a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed JWT, or its claims are missing or mistyped.
    #[error("malformed token")]
    Malformed,
    /// The header's `alg` is not `EdDSA`.
    #[error("algorithm not allowed")]
    Algorithm,
    /// No `kid`, or no key with it even after refetching the JWKS.
    #[error("signed by an unknown key")]
    UnknownKey,
    /// The JWKS (or the named key in it) is malformed or not Ed25519.
    #[error("invalid JWKS")]
    Jwks,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `iat` is in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// `iss` is not this Keyward's issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` is not `keyward-step-up`.
    #[error("wrong audience")]
    WrongAudience,
}

impl TokenError {
    /// The variant in snake case (`malformed`, `algorithm`, `unknown_key`,
    /// `jwks`, `bad_signature`, `expired`, `not_yet_valid`, `wrong_issuer`,
    /// `wrong_audience`): the verdict other clients report too (testdata/).
    pub fn slug(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::Jwks => "jwks",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
        }
    }
}

/// Maps an error response to an [`Error`]: the problem's kind (from the
/// shared catalogue) picks the variant.
pub(crate) fn from_response(status: u16, body: &[u8]) -> Error {
    let problem: Option<Problem> = serde_json::from_slice(body).ok();
    let Some(problem) = problem else {
        return Error::Http {
            status,
            type_: "about:blank".to_owned(),
            detail: None,
        };
    };
    let reason = problem.reason.clone().unwrap_or_default();
    match problem.kind() {
        Some(ProblemKind::AlreadyRedeemed) => Error::AlreadyRedeemed,
        Some(ProblemKind::ApprovalExpired) => Error::ApprovalExpired,
        Some(ProblemKind::NotApproved) => Error::NotApproved,
        Some(ProblemKind::PolicyRefused) => Error::PolicyRefused {
            reason: PolicyReason::parse(&reason),
        },
        Some(ProblemKind::InvalidServiceKey) => Error::Unauthorized,
        Some(ProblemKind::InsufficientScope | ProblemKind::Forbidden) => Error::Forbidden,
        Some(ProblemKind::NotFound) => Error::NotFound,
        Some(ProblemKind::Validation) => Error::Validation {
            field: problem.field.unwrap_or_default(),
            detail: problem.detail,
        },
        Some(ProblemKind::ApiKeyRefused) => Error::ApiKeyRefused {
            reason: ApiKeyRefusal::parse(&reason),
        },
        _ => Error::Http {
            status,
            type_: problem.type_,
            detail: Some(problem.detail).filter(|d| !d.is_empty()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_problem_slugs() {
        let body = br#"{"type":"https://keyward.dev/problems/policy-refused","title":"Refused by policy","status":409,"reason":"key_added"}"#;
        assert!(matches!(
            from_response(409, body),
            Error::PolicyRefused {
                reason: PolicyReason::KeyAdded
            }
        ));
        let body = br#"{"type":"https://keyward.dev/problems/validation","title":"Invalid input","status":422,"field":"details.amount","detail":"bad"}"#;
        assert!(
            matches!(from_response(422, body), Error::Validation { field, .. } if field == "details.amount")
        );
        let body =
            br#"{"type":"https://keyward.dev/problems/api-key-refused","title":"API key refused","status":403,"reason":"ip_not_allowed"}"#;
        assert!(matches!(
            from_response(403, body),
            Error::ApiKeyRefused {
                reason: ApiKeyRefusal::IpNotAllowed
            }
        ));
        assert!(matches!(
            from_response(502, b"<html>bad gateway</html>"),
            Error::Http { status: 502, type_, .. } if type_ == "about:blank"
        ));
    }
}
