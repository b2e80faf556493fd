//! RFC 9457 problem details and the catalogue of problem kinds. A kind is
//! written once, here: its slug is the variant name in kebab case, and its
//! status and title are attached to it. The server's error, its OpenAPI
//! catalogue, the client's error and the web pages' messages all read it.

use serde::{Deserialize, Serialize};
use strum::{EnumIter, EnumString, IntoEnumIterator, IntoStaticStr};

/// Prefix of every problem `type` URI. The slug after it is stable.
pub const PROBLEM_BASE: &str = "https://keyward.dev/problems/";

/// Media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every kind of problem Keyward answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum ProblemKind {
    /// A field failed validation (`field` names it).
    Validation,
    /// The body is not valid JSON or has wrong types.
    MalformedBody,
    /// `Content-Type` is not `application/json`.
    UnsupportedMediaType,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// No valid session (or not the right stage).
    Unauthenticated,
    /// Username or password wrong (deliberately not saying which).
    InvalidCredentials,
    /// A state-changing browser request came without the configured Origin.
    OriginMismatch,
    /// The session may not do this yet (e.g. enrol a key first).
    Forbidden,
    /// A fresh key assertion is needed first.
    ReauthRequired,
    /// The thing asked for does not exist (for this caller).
    NotFound,
    /// The username is taken.
    UsernameTaken,
    /// The security key is already enrolled.
    CredentialExists,
    /// Removing the last key would lock the user out.
    LastKey,
    /// The ceremony id is unknown, used, or for another user or purpose.
    CeremonyUnknown,
    /// The ceremony expired.
    CeremonyExpired,
    /// The authenticator's response failed a WebAuthn check (`reason`).
    CeremonyRefused,
    /// Too many failures; `Retry-After` says when to try again.
    Throttled,
    /// The operator locked the account.
    AccountLocked,
    /// Missing, malformed, unknown or revoked service key.
    InvalidServiceKey,
    /// The service key lacks a scope.
    InsufficientScope,
    /// The client reference was used before for different details.
    IdempotencyConflict,
    /// The step-up is no longer waiting for approval.
    StepUpNotPending,
    /// The step-up's approval window passed.
    StepUpExpired,
    /// Redeem of a step-up that was not approved.
    NotApproved,
    /// The request's details differ from what the user approved.
    StepUpMismatch,
    /// The user has as many live API keys as allowed.
    TooManyApiKeys,
    /// A presented API key was refused (`reason`).
    ApiKeyRefused,
    /// Redeem of a step-up that was already redeemed.
    AlreadyRedeemed,
    /// An account recovery is already under way (one at a time).
    RecoveryPending,
    /// The account recovery's delay has not passed yet.
    RecoveryNotDue,
    /// The same action for the same subject already waits for a second
    /// operator.
    OperatorRequestPending,
    /// The operator request was approved, cancelled or expired already.
    OperatorRequestClosed,
    /// A second operator (another admin key, by another name) must approve.
    SameOperator,
    /// The user's security lock delays this change.
    SecurityLocked,
    /// Redeem after the approval expired.
    ApprovalExpired,
    /// The withdrawal policy refused (`reason`).
    PolicyRefused,
    /// Too much work queued; `Retry-After` says when to try again.
    Busy,
    /// Signing or another dependency is unavailable: nothing was approved.
    Unavailable,
    /// No route here.
    RouteNotFound,
    /// The route exists, but not for this method.
    MethodNotAllowed,
    /// Anything unexpected (logged by the server, never shown).
    Internal,
}

impl ProblemKind {
    /// The stable slug, e.g. `step-up-not-pending`.
    pub fn slug(self) -> &'static str {
        self.into()
    }

    /// The problem `type` URI.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }

    /// The kind named by a problem `type` URI (or a bare slug).
    pub fn from_type(type_: &str) -> Option<Self> {
        type_
            .strip_prefix(PROBLEM_BASE)
            .unwrap_or(type_)
            .parse()
            .ok()
    }

    /// Every kind, in declaration order.
    pub fn all() -> impl Iterator<Item = Self> {
        Self::iter()
    }

    /// The HTTP status and the short title of the kind.
    pub fn status_and_title(self) -> (u16, &'static str) {
        use ProblemKind as K;
        match self {
            K::Validation => (422, "Invalid input"),
            K::MalformedBody => (400, "Malformed request body"),
            K::UnsupportedMediaType => (415, "Unsupported media type"),
            K::PayloadTooLarge => (413, "Payload too large"),
            K::Unauthenticated => (401, "Not signed in"),
            K::InvalidCredentials => (401, "Sign-in failed"),
            K::OriginMismatch => (403, "Origin not allowed"),
            K::Forbidden => (403, "Not allowed"),
            K::ReauthRequired => (403, "Re-authentication required"),
            K::NotFound => (404, "Not found"),
            K::UsernameTaken => (409, "Username taken"),
            K::CredentialExists => (409, "Key already registered"),
            K::LastKey => (409, "Last key"),
            K::CeremonyUnknown => (409, "Unknown challenge"),
            K::CeremonyExpired => (410, "Challenge expired"),
            K::CeremonyRefused => (400, "Security key response refused"),
            K::Throttled => (429, "Too many attempts"),
            K::AccountLocked => (429, "Account locked"),
            K::InvalidServiceKey => (401, "Service key required"),
            K::InsufficientScope => (403, "Insufficient scope"),
            K::IdempotencyConflict => (409, "Client reference reused"),
            K::StepUpNotPending => (409, "Step-up not pending"),
            K::StepUpExpired => (410, "Step-up expired"),
            K::NotApproved => (409, "Not approved"),
            K::StepUpMismatch => (409, "Details differ from the approval"),
            K::TooManyApiKeys => (409, "Too many API keys"),
            K::ApiKeyRefused => (403, "API key refused"),
            K::AlreadyRedeemed => (409, "Already redeemed"),
            K::RecoveryPending => (409, "Recovery already under way"),
            K::RecoveryNotDue => (409, "Recovery not due yet"),
            K::OperatorRequestPending => (409, "Already waiting for a second operator"),
            K::OperatorRequestClosed => (409, "Operator request no longer pending"),
            K::SameOperator => (403, "A second operator must approve"),
            K::SecurityLocked => (409, "Delayed by your security lock"),
            K::ApprovalExpired => (410, "Approval expired"),
            K::PolicyRefused => (409, "Refused by policy"),
            K::Busy => (503, "Server busy"),
            K::Unavailable => (503, "Service unavailable"),
            K::RouteNotFound => (404, "No such endpoint"),
            K::MethodNotAllowed => (405, "Method not allowed"),
            K::Internal => (500, "Internal error"),
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        self.status_and_title().0
    }

    /// The short title.
    pub fn title(self) -> &'static str {
        self.status_and_title().1
    }
}

/// RFC 9457 problem details, the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// The problem type, `https://keyward.dev/problems/<slug>` (stable).
    #[serde(rename = "type")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "https://keyward.dev/problems/not-found")
    )]
    pub type_: String,
    /// Short, human-readable summary of the type.
    #[cfg_attr(feature = "openapi", schema(example = "Not found"))]
    pub title: String,
    /// The HTTP status code.
    #[cfg_attr(feature = "openapi", schema(example = 404))]
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "key not found"))]
    pub detail: String,
    /// The offending field (`validation` problems only), e.g. `credential.response`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub field: Option<String>,
    /// Stable reason code (`ceremony-refused`, `policy-refused`,
    /// `api-key-refused`), e.g. `origin_mismatch`, `counter_regression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
}

impl Problem {
    /// A problem of `kind` with its status and title.
    pub fn new(kind: ProblemKind, detail: String) -> Self {
        Self {
            type_: kind.type_uri(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail,
            field: None,
            reason: None,
        }
    }

    /// The kind, when this version knows it.
    pub fn kind(&self) -> Option<ProblemKind> {
        ProblemKind::from_type(&self.type_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in ProblemKind::all() {
            assert!(seen.insert(kind.slug()), "{kind:?}");
            assert_eq!(ProblemKind::from_type(&kind.type_uri()), Some(kind));
            assert!((400..600).contains(&kind.status()), "{kind:?}");
        }
        assert_eq!(ProblemKind::StepUpNotPending.slug(), "step-up-not-pending");
        assert_eq!(ProblemKind::TooManyApiKeys.slug(), "too-many-api-keys");
        assert_eq!(ProblemKind::from_type("https://example.com/x"), None);
    }
}
