"""The service API's answers, read leniently (unknown members ignored, a
status or reason this version does not know read as ``unknown``), as the
Rust client reads them; the raw body stays available as ``.raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .approval import ApprovalEvidence
from .errors import POLICY_REASONS, TransportError

STATUSES = frozenset("pending held denied approved redeemed expired refused declined".split())


def _need(body: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get(name), kind):
        raise TransportError(f"unreadable response: `{name}`")
    return body[name]


def _opt(body: dict[str, Any], name: str) -> Any:
    return body.get(name)


@dataclass(frozen=True)
class StepUp:
    """A step-up: a sensitive action waiting for (or past) a key approval."""

    id: str
    user_id: str
    action: str
    details: Any
    digest: str
    status: str
    confirm_url: str
    created_at: str
    expires_at: str
    reason: Optional[str] = None
    held_until: Optional[str] = None
    reasons: list[Any] = field(default_factory=list)
    approved_at: Optional[str] = None
    approval_expires_at: Optional[str] = None
    redeemed_at: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Any) -> "StepUp":
        status = _need(body, "status", str)
        reason = body.get("reason")
        if reason is not None:
            reason = reason if reason in POLICY_REASONS else "unknown"
        return cls(
            id=_need(body, "id", str),
            user_id=_need(body, "user_id", str),
            action=_need(body, "action", str),
            details=body.get("details"),
            digest=_need(body, "digest", str),
            status=status if status in STATUSES else "unknown",
            confirm_url=_need(body, "confirm_url", str),
            created_at=_need(body, "created_at", str),
            expires_at=_need(body, "expires_at", str),
            reason=reason,
            held_until=_opt(body, "held_until"),
            reasons=list(body.get("reasons") or []),
            approved_at=_opt(body, "approved_at"),
            approval_expires_at=_opt(body, "approval_expires_at"),
            redeemed_at=_opt(body, "redeemed_at"),
            raw=dict(body),
        )


@dataclass(frozen=True)
class Redeemed:
    """A redeemed approval: the step-up (now ``redeemed``) with what the key
    proved. ``evidence`` is read when asked for (a malformed one is
    :class:`Unverified` ``malformed_evidence``, never paid)."""

    step_up: StepUp
    user_verified: Optional[bool]
    credential_key_id: Optional[str]
    evidence_json: Optional[Any] = field(default=None, repr=False)

    @classmethod
    def from_json(cls, body: Any) -> "Redeemed":
        return cls(
            step_up=StepUp.from_json(body),
            user_verified=body.get("user_verified"),
            credential_key_id=body.get("credential_key_id"),
            evidence_json=body.get("evidence"),
        )

    @property
    def evidence(self) -> Optional[ApprovalEvidence]:
        if self.evidence_json is None:
            return None
        return ApprovalEvidence.from_json(self.evidence_json)


@dataclass(frozen=True)
class VerifiedKey:
    """A verified user API key."""

    user_id: str
    key_id: str
    scopes: list[str]
    expires_at: Optional[str] = None

    @classmethod
    def from_json(cls, body: Any) -> "VerifiedKey":
        return cls(
            user_id=_need(body, "user_id", str),
            key_id=_need(body, "key_id", str),
            scopes=list(_need(body, "scopes", list)),
            expires_at=body.get("expires_at"),
        )


@dataclass(frozen=True)
class PolledEvent:
    """One event as polled: its position, id and the signed token."""

    seq: int
    jti: str
    set: str


@dataclass(frozen=True)
class EventPage:
    """Events after a cursor; read on from ``next``. ``head`` is the log's
    last position when the page was read."""

    events: list[PolledEvent]
    next: int
    head: int = 0
