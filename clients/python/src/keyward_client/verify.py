"""Verifying an approval without trusting Keyward, with the pins the
exchange keeps: ``keyward_client::Verifier``."""

from __future__ import annotations

from typing import Any, Union

from .approval import ApprovalEvidence, VerifiedApproval, verify_approval
from .chain import Pin
from .details import digest_of
from .errors import KeywardError, PinStoreError
from .pins import PinStore

Evidence = Union[ApprovalEvidence, dict[str, Any], str, bytes]


def _evidence(evidence: Evidence) -> ApprovalEvidence:
    if isinstance(evidence, ApprovalEvidence):
        return evidence
    if isinstance(evidence, (str, bytes, bytearray)):
        return ApprovalEvidence.from_bytes(evidence)
    return ApprovalEvidence.from_json(evidence)


class Verifier:
    """Checks approvals' evidence against pinned key chains.

    ``rp_id`` and ``origin`` are Keyward's as the exchange configured them
    (not as Keyward reports them), e.g. ``auth.exchange.example`` and
    ``https://auth.exchange.example``. User verification (PIN or biometric)
    is required unless ``require_uv=False`` (:meth:`allow_without_uv`)."""

    def __init__(self, rp_id: str, origin: str, pins: PinStore, require_uv: bool = True):
        self.rp_id = rp_id
        self.origin = origin.rstrip("/")
        self.pins = pins
        self.require_uv = require_uv

    def allow_without_uv(self) -> "Verifier":
        """A verifier that accepts keys that did not verify the user."""
        return Verifier(self.rp_id, self.origin, self.pins, require_uv=False)

    def __repr__(self) -> str:
        return f"Verifier(rp_id={self.rp_id!r}, origin={self.origin!r}, require_uv={self.require_uv})"

    def _get(self, user: str) -> Pin | None:
        try:
            return self.pins.get(user)
        except KeywardError:
            raise
        except Exception as e:  # a caller's store failing is a pin-store error
            raise PinStoreError(f"pin store: {e}") from e

    def _put(self, user: str, pin: Pin) -> None:
        try:
            self.pins.put(user, pin)
        except KeywardError:
            raise
        except Exception as e:
            raise PinStoreError(f"pin store: {e}") from e

    def check(self, action: str, details: Any, evidence: Evidence, pin: Pin | None) -> VerifiedApproval:
        """The verification alone, against ``pin``, storing nothing."""
        digest = digest_of(action, details)
        return verify_approval(
            _evidence(evidence), self.rp_id, self.origin, digest, self.require_uv, pin
        )

    def verify(self, user: str, action: str, details: Any, evidence: Evidence) -> VerifiedApproval:
        """Verifies that ``evidence`` approves ``action`` with exactly
        ``details`` (as the exchange asked for them) by a key in ``user``'s
        pinned chain, and moves the pin forward to the chain's head. The
        first approval of a user pins their chain (its genesis key trusted
        on first use). Raises :class:`Unverified`, :class:`ChainRestarted`
        (accept only with :meth:`accept_restart`), :class:`ValidationError`."""
        pin = self._get(user)
        verified = self.check(action, details, evidence, pin)
        new_pin = verified.chain.pin()
        if pin != new_pin:
            self._put(user, new_pin)
        return verified

    def accept_restart(
        self, user: str, action: str, details: Any, evidence: Evidence
    ) -> VerifiedApproval:
        """Like :meth:`verify`, but pins the evidence's chain afresh whatever
        was pinned: for a restart the exchange confirmed with the user out of
        band."""
        verified = self.check(action, details, evidence, None)
        self._put(user, verified.chain.pin())
        return verified
