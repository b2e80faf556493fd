"""Keyward's signed tokens — Security Event Tokens (``typ`` ``secevent+jwt``)
and approval tokens — verified offline against its JWKS (the JWS itself in
``jws.py``), with keyward-client's claims checks and verdicts: exact issuer
and audience; events do not expire, approvals do."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ._json import DeError
from .chain import de_uuid, parse_uuid
from .errors import TokenError
from .jws import approval_kid, claims_of, event_kid, find_key, verified_payload

#: The audience of every approval token.
APPROVAL_AUDIENCE = "keyward-step-up"
#: Keyward's own event types: ``<prefix><audit event name>``.
KEYWARD_EVENT = "https://keyward.dev/secevent/"


# --- security events --------------------------------------------------------


@dataclass(frozen=True)
class SecurityEvent:
    """The claims of one Security Event Token."""

    iss: str
    aud: str
    iat: int
    jti: str
    toe: int
    sub_id: dict[str, str]
    events: dict[str, Any]
    keyward_seq: int

    def keyward_event(self) -> Optional[tuple[str, Any]]:
        """Keyward's own event in it, as (name, detail): e.g.
        ``("stepup.approved", {...})``."""
        for uri, detail in self.events.items():
            if uri.startswith(KEYWARD_EVENT):
                return uri[len(KEYWARD_EVENT) :], detail
        return None


_EVENT_CLAIMS: list[tuple[str, Any]] = [
    ("iss", "str"),
    ("aud", "str"),
    ("iat", "i64"),
    ("jti", "str"),
    ("toe", "i64"),
    ("sub_id", [("format", "str"), ("id", "str")]),
    ("events", "map"),
    ("keyward_seq", "i64"),
]


def verify_event_with(token: str, keys: list[dict[str, Any]], issuer: str, audience: str) -> SecurityEvent:
    """Verifies an event token against a key set: header, key, signature,
    exact issuer and audience (events do not expire: they say what
    happened), at least one event. Raises :class:`TokenError`."""
    raw = find_key(keys, event_kid(token))
    claims = claims_of(verified_payload(token, raw, "malformed"), _EVENT_CLAIMS)
    if claims["iss"] != issuer:
        raise TokenError("wrong_issuer")
    if claims["aud"] != audience:
        raise TokenError("wrong_audience")
    if not claims["events"]:
        raise TokenError("malformed")
    return SecurityEvent(**claims)


# --- approval tokens --------------------------------------------------------


@dataclass(frozen=True)
class ApprovalClaims:
    """What an approval token says: one user approved one step-up's exact
    details (``details_digest``) with one security key."""

    step_up_id: str
    sub: str
    action: str
    details_digest: str
    credential_id: str
    uv: bool
    iat: int
    exp: int
    jti: str
    iss: str
    aud: str
    aaguid: Optional[str] = None
    chain_head: Optional[str] = None


_APPROVAL_CLAIMS: list[tuple[str, Any]] = [
    ("sid", "str"),
    ("sub", "str"),
    ("action", "str"),
    ("details_digest", "str"),
    ("cred_id", "str"),
    ("aaguid", "opt_str"),
    ("uv", "bool"),
    ("iat", "i64"),
    ("exp", "i64"),
    ("jti", "str"),
    ("iss", "str"),
    ("aud", "str"),
    ("chain_head", "opt_str"),
]


def _uuid_claims(c: dict[str, Any]) -> dict[str, Any]:
    # sid, jti and aaguid are UUIDs to serde: one that is not fails the read.
    try:
        for name in ("sid", "jti", "aaguid"):
            if c[name] is not None:
                c[name] = parse_uuid(c[name])
    except ValueError:
        raise TokenError("malformed") from None
    return c


def verify_approval_token_with(
    token: str,
    keys: list[dict[str, Any]],
    issuer: str,
    leeway: int = 0,
    now: Optional[Callable[[], float]] = None,
) -> ApprovalClaims:
    """Verifies an approval token against a key set: EdDSA only, exact
    issuer and audience ``keyward-step-up``, ``exp`` in the future and
    ``iat`` not (both within ``leeway`` seconds)."""
    raw = find_key(keys, approval_kid(token))
    c = _uuid_claims(claims_of(verified_payload(token, raw, "jwks"), _APPROVAL_CLAIMS))
    t = int((now or time.time)())
    if c["exp"] < 0:
        raise TokenError("malformed")  # not a NumericDate jsonwebtoken reads
    if c["exp"] < t - leeway:
        raise TokenError("expired")
    if c["iss"] != issuer:
        raise TokenError("wrong_issuer")
    if c["aud"] != APPROVAL_AUDIENCE:
        raise TokenError("wrong_audience")
    if t >= c["exp"] + leeway:
        raise TokenError("expired")
    if c["iat"] > t + leeway:
        raise TokenError("not_yet_valid")
    return ApprovalClaims(
        step_up_id=c["sid"],
        sub=c["sub"],
        action=c["action"],
        details_digest=c["details_digest"],
        credential_id=c["cred_id"],
        uv=c["uv"],
        iat=c["iat"],
        exp=c["exp"],
        jti=c["jti"],
        iss=c["iss"],
        aud=c["aud"],
        aaguid=c["aaguid"],
        chain_head=c["chain_head"],
    )


def approval_matches(claims: ApprovalClaims, expected_digest: str, step_up_id: str) -> bool:
    """True when ``claims`` approve exactly this step-up with exactly these
    details: call it with the digest of what you are about to pay."""
    try:
        sid = de_uuid(str(step_up_id), ())
    except DeError:
        return False
    return (
        bool(expected_digest)
        and claims.step_up_id == sid
        and _ascii_lower(claims.details_digest) == _ascii_lower(expected_digest)
    )


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(s: str) -> str:
    # Rust's eq_ignore_ascii_case folds ASCII letters only.
    return s.translate(_LOWER)
