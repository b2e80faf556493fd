"""Everything the client can fail with, as typed exceptions carrying the
exact strings the other Keyward clients report (``/spec/vectors.md``), so
verdicts compare mechanically:

- an approval that does not verify: :class:`Unverified` with ``.error``
  (``details_differ``, ``assertion_invalid``, ``chain_invalid``, …) and
  ``.reason`` (``bad_signature``, ``broken_link``, …, or ``None``);
  :class:`ChainRestarted` is one of them;
- a token that does not verify: :class:`TokenError` with ``.kind``;
- details that do not validate: :class:`ValidationError` with ``.field``;
- Keyward's RFC 9457 problems: one class per kind a caller acts on,
  :class:`HttpError` for the rest.
"""

from __future__ import annotations

from typing import Any, Optional

from ._json import loads

PROBLEM_BASE = "https://keyward.dev/problems/"

# keyward_api::ProblemKind: slug -> (status, title), in declaration order.
PROBLEMS: dict[str, tuple[int, str]] = {
    "validation": (422, "Invalid input"),
    "malformed-body": (400, "Malformed request body"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "payload-too-large": (413, "Payload too large"),
    "unauthenticated": (401, "Not signed in"),
    "invalid-credentials": (401, "Sign-in failed"),
    "origin-mismatch": (403, "Origin not allowed"),
    "forbidden": (403, "Not allowed"),
    "reauth-required": (403, "Re-authentication required"),
    "not-found": (404, "Not found"),
    "username-taken": (409, "Username taken"),
    "credential-exists": (409, "Key already registered"),
    "last-key": (409, "Last key"),
    "ceremony-unknown": (409, "Unknown challenge"),
    "ceremony-expired": (410, "Challenge expired"),
    "ceremony-refused": (400, "Security key response refused"),
    "throttled": (429, "Too many attempts"),
    "account-locked": (429, "Account locked"),
    "invalid-service-key": (401, "Service key required"),
    "insufficient-scope": (403, "Insufficient scope"),
    "idempotency-conflict": (409, "Client reference reused"),
    "step-up-not-pending": (409, "Step-up not pending"),
    "step-up-expired": (410, "Step-up expired"),
    "not-approved": (409, "Not approved"),
    "step-up-mismatch": (409, "Details differ from the approval"),
    "too-many-api-keys": (409, "Too many API keys"),
    "api-key-refused": (403, "API key refused"),
    "already-redeemed": (409, "Already redeemed"),
    "recovery-pending": (409, "Recovery already under way"),
    "recovery-not-due": (409, "Recovery not due yet"),
    "operator-request-pending": (409, "Already waiting for a second operator"),
    "operator-request-closed": (409, "Operator request no longer pending"),
    "same-operator": (403, "A second operator must approve"),
    "security-locked": (409, "Delayed by your security lock"),
    "approval-expired": (410, "Approval expired"),
    "policy-refused": (409, "Refused by policy"),
    "busy": (503, "Server busy"),
    "unavailable": (503, "Service unavailable"),
    "route-not-found": (404, "No such endpoint"),
    "method-not-allowed": (405, "Method not allowed"),
    "internal": (500, "Internal error"),
}

# keyward_api::PolicyReason and ApiKeyRefusal as this version knows them; a
# reason Keyward adds later reads as "unknown" / "other", as in Rust.
POLICY_REASONS = frozenset(
    """account_frozen withdrawals_frozen policy_unavailable address_not_allowed
    address_cooling_off daily_limit_exceeded details_invalid key_added key_removed
    password_changed api_key_withdraw unfrozen recovered security_change new_device
    new_network new_country new_asn impossible_travel withdrawal_velocity
    recent_security_change new_key""".split()
)
API_KEY_REFUSALS = frozenset(
    """malformed unknown revoked expired scope_not_granted ip_not_allowed user_frozen
    withdrawals_frozen held""".split()
)


class KeywardError(Exception):
    """Base of every error this package raises."""


# --- verdicts on what Keyward sent ----------------------------------------


class Unverified(KeywardError):
    """An approval whose evidence does not verify: do not pay.

    ``error`` is a stable slug: ``details_differ``, ``malformed_nonce``,
    ``assertion_invalid``, ``user_not_verified``, ``chain_restarted``,
    ``chain_invalid``, ``key_not_in_chain``, ``malformed_evidence`` or
    ``missing_evidence``. ``reason`` refines ``assertion_invalid`` (the
    assertion check that failed) and ``chain_invalid`` (``length``,
    ``malformed``, ``broken_link``, ``unendorsed``, ``diverged``,
    ``wrong_user``); otherwise ``None``."""

    def __init__(self, error: str, reason: Optional[str] = None, detail: str = ""):
        self.error = error
        self.reason = reason
        self.detail = detail or error
        tag = f"{error}/{reason}" if reason else error
        super().__init__(f"approval not verified ({tag}): {self.detail}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(error={self.error!r}, reason={self.reason!r})"


class ChainRestarted(Unverified):
    """The user's key chain has another genesis than the one pinned: it
    started again (account recovery, an operator reset) or Keyward's data
    was replaced. Not paid; confirm with the user out of band, then
    :meth:`Verifier.accept_restart`."""

    def __init__(
        self,
        pinned: str,
        genesis: str,
        restarted_from: Optional[str] = None,
        recovered: bool = False,
    ):
        self.pinned = pinned
        self.genesis = genesis
        self.restarted_from = restarted_from
        self.recovered = recovered
        super().__init__(
            "chain_restarted",
            None,
            f"the key chain started again: pinned genesis {pinned}, now {genesis}",
        )


class TokenError(KeywardError):
    """A signed token (security event, approval token) refused. ``kind``:
    ``malformed``, ``algorithm``, ``unknown_key``, ``jwks``,
    ``bad_signature``, ``expired``, ``not_yet_valid``, ``wrong_issuer``,
    ``wrong_audience``."""

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(f"token refused: {kind}")

    @property
    def error(self) -> str:
        return self.kind

    def __repr__(self) -> str:
        return f"TokenError(kind={self.kind!r})"


class ValidationError(KeywardError):
    """A field refused, by this client (details that do not validate) or by
    Keyward (a ``validation`` problem). ``field``: e.g. ``details.amount``."""

    error = "validation"

    def __init__(self, field: str, detail: str = "", status: Optional[int] = None):
        self.field = field
        self.detail = detail
        self.status = status
        super().__init__(f"invalid {field}: {detail}")

    def __repr__(self) -> str:
        return f"ValidationError(field={self.field!r})"


# --- Keyward's problem responses --------------------------------------------


class ProblemError(KeywardError):
    """An error response from Keyward. ``problem`` is its body when it was
    an RFC 9457 problem."""

    def __init__(
        self,
        message: str,
        status: int = 0,
        type_: str = "about:blank",
        detail: Optional[str] = None,
        problem: Optional[dict[str, Any]] = None,
    ):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.detail = detail
        self.problem = problem


class AlreadyRedeemed(ProblemError):
    """``already-redeemed``: redeemed before. Do not pay again."""


class ApprovalExpired(ProblemError):
    """``approval-expired``: not redeemed in time."""


class NotApproved(ProblemError):
    """``not-approved``: the step-up has not been approved (yet)."""


class PolicyRefused(ProblemError):
    """``policy-refused``: the withdrawal policy said no at redeem time;
    ``reason`` e.g. ``withdrawals_frozen``, ``held``, ``daily_limit_exceeded``."""

    reason: str


class Unauthorized(ProblemError):
    """``invalid-service-key``: missing, unknown or revoked service key."""


class Forbidden(ProblemError):
    """``insufficient-scope`` or ``forbidden``: the service key lacks a scope."""


class NotFound(ProblemError):
    """``not-found``: no such step-up (or user)."""


class ApiKeyRefused(ProblemError):
    """``api-key-refused``: the user API key may not be used; ``reason``
    e.g. ``unknown``, ``ip_not_allowed``, ``scope_not_granted``."""

    reason: str


class HttpError(ProblemError):
    """Any other error response."""


# --- the client's own -------------------------------------------------------


class TransportError(KeywardError):
    """The request did not complete, or the response could not be read."""


class InvalidUrl(KeywardError):
    """The base URL cannot be used."""


class Timeout(KeywardError):
    """A wait for an approval ended with the step-up still pending."""


class Ended(KeywardError):
    """A wait for an approval ended because the step-up left ``pending``
    without being approved (``held``, ``denied``, ``declined``, ``expired``, …)."""

    def __init__(self, status: str, reason: Optional[str] = None):
        self.status = status
        self.reason = reason
        super().__init__(f"the step-up ended without approval (status: {status})")


class PinStoreError(KeywardError):
    """The pin store failed."""


def _slug(type_: str) -> str:
    return type_[len(PROBLEM_BASE) :] if type_.startswith(PROBLEM_BASE) else type_


def from_response(status: int, body: bytes) -> KeywardError:
    """Maps an error response to an exception: the problem's kind (the slug
    at the end of its ``type``) picks the class, as keyward-client's
    ``error::from_response`` does."""
    try:
        problem = loads(body)
        # The shape keyward_api::Problem requires; anything else is not a
        # problem body, whatever it says.
        ok = (
            isinstance(problem, dict)
            and isinstance(problem.get("type"), str)
            and isinstance(problem.get("title"), str)
            and type(problem.get("status")) is int
            and 0 <= problem["status"] <= 65535
            and isinstance(problem.get("detail", ""), str)
            and all(problem.get(k) is None or isinstance(problem[k], str) for k in ("field", "reason"))
        )
    except ValueError:
        ok = False
    if not ok:
        return HttpError(f"HTTP {status} (about:blank)", status)
    type_ = problem["type"]
    detail = problem.get("detail") or ""
    reason = problem.get("reason") or ""
    slug = _slug(type_)
    args: dict[str, Any] = {"status": status, "type_": type_, "detail": detail, "problem": problem}
    simple = {
        "already-redeemed": (AlreadyRedeemed, "the approval was already redeemed"),
        "approval-expired": (ApprovalExpired, "the approval expired"),
        "not-approved": (NotApproved, "the step-up has not been approved"),
        "invalid-service-key": (Unauthorized, "the service key was not accepted"),
        "insufficient-scope": (Forbidden, "the service key is not allowed to do this"),
        "forbidden": (Forbidden, "the service key is not allowed to do this"),
        "not-found": (NotFound, "not found"),
    }
    if slug in simple:
        cls, message = simple[slug]
        return cls(message, **args)
    if slug == "policy-refused":
        err = PolicyRefused(f"refused by withdrawal policy ({reason})", **args)
        err.reason = reason if reason in POLICY_REASONS else "unknown"
        return err
    if slug == "api-key-refused":
        refusal = reason if reason in API_KEY_REFUSALS else "other"
        err2 = ApiKeyRefused(f"API key refused ({refusal})", **args)
        err2.reason = refusal
        return err2
    if slug == "validation":
        field = problem.get("field") or ""
        return ValidationError(field, detail, status)
    return HttpError(f"HTTP {status} ({type_})", detail=detail or None, **{
        k: v for k, v in args.items() if k != "detail"
    })
