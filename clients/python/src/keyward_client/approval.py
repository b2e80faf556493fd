"""An approval checked end to end, as the exchange checks it without
trusting Keyward (``keyward_proof::approval``): its own digest of the
details it asked for, the challenge recomputed from the nonce and that
digest, the key's assertion over it, and the key's place in the user's key
chain followed from the exchange's pin."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from . import _b64
from ._json import DeError, Field, Path, de_str, de_struct, de_vec, loads
from .chain import ChainEntry, ChainError, ChainKey, ChainState, Pin, follow
from .challenge import step_up_challenge
from .errors import ChainRestarted, Unverified
from .evidence import AssertionEvidence, EvidenceFacts, Refusal, verify_evidence


@dataclass(frozen=True)
class ApprovalEvidence:
    """What the user's key signed, raw (as Keyward's redeem returns it)."""

    details: str
    nonce: str
    assertion: AssertionEvidence
    key_chain: tuple[ChainEntry, ...] = ()

    @classmethod
    def from_json(cls, v: Any, path: Path = (), from_bytes: bool = False) -> "ApprovalEvidence":
        """Reads the evidence as serde does (unknown members of the outer
        object are ignored, of everything inside refused). Raises
        :class:`Unverified` ``malformed_evidence``."""
        fields = [
            Field("details", de_str),
            Field("nonce", de_str),
            Field("assertion", lambda x, p: AssertionEvidence.from_json(x, p, from_bytes)),
            Field(
                "key_chain",
                de_vec(lambda x, p: ChainEntry.from_json(x, p, from_bytes)),
                [],
            ),
        ]
        try:
            r = de_struct(v, "ApprovalEvidence", fields, path, from_bytes=from_bytes)
        except DeError as e:
            raise Unverified("malformed_evidence", None, f"{e.path_text()}: {e.message}") from None
        r["key_chain"] = tuple(r["key_chain"])
        return cls(**r)

    @classmethod
    def from_bytes(cls, data: bytes | str) -> "ApprovalEvidence":
        try:
            v = loads(data)
        except ValueError as e:
            raise Unverified("malformed_evidence", None, str(e)) from None
        return cls.from_json(v, from_bytes=True)


@dataclass(frozen=True)
class VerifiedApproval:
    """An approval that verified: the chain followed (keep
    ``chain.pin()``), the key that approved, what its authenticator said."""

    chain: ChainState
    key: ChainKey
    facts: EvidenceFacts


def verify_approval(
    evidence: ApprovalEvidence,
    rp_id: str,
    origin: str,
    digest: bytes,
    require_uv: bool,
    pin: Optional[Pin],
) -> VerifiedApproval:
    """Verifies ``evidence`` against what the exchange knows: ``digest`` of
    the details it asked for (computed by the exchange), Keyward's rp id
    and origin as the exchange configured them, and the user's pin (``None``
    the first time: the genesis key is then trusted on first use). Raises
    :class:`Unverified` (:class:`ChainRestarted` for a new genesis)."""
    if hashlib.sha256(evidence.details.encode("utf-8")).digest() != digest:
        raise Unverified("details_differ", None, "the approved details are not the ones asked for")
    try:
        nonce = _b64.decode(evidence.nonce)
    except ValueError:
        nonce = b""
    if len(nonce) != 32:
        raise Unverified("malformed_nonce", None, "the evidence's nonce is malformed")
    challenge = step_up_challenge(nonce, digest)
    try:
        facts = verify_evidence(evidence.assertion, challenge, rp_id, origin)
    except Refusal as r:
        raise Unverified("assertion_invalid", r.slug, f"the assertion does not verify: {r.slug}") from None
    if require_uv and not facts.user_verified:
        raise Unverified(
            "user_not_verified", None, "the key did not verify the user (PIN or biometric)"
        )
    try:
        chain = follow(list(evidence.key_chain), rp_id, origin, pin)
    except ChainError as e:
        if e.kind == "restarted":
            raise ChainRestarted(
                e.info["pinned"], e.info["genesis"], e.info["restarted_from"], e.info["recovered"]
            ) from None
        raise Unverified("chain_invalid", e.kind, e.detail) from None
    key = chain.key(evidence.assertion.credential_id, evidence.assertion.public_key)
    if key is None:
        raise Unverified(
            "key_not_in_chain", None, "the approving key is not in the user's key chain"
        )
    return VerifiedApproval(chain=chain, key=key, facts=facts)
