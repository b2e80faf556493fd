"""Keyward for an exchange's Python back end: ask a user to approve a
withdrawal with their security key, wait for it, redeem the approval once
and verify it without trusting Keyward (the user's own key signature,
against the key chain you pinned), verify security events and approval
tokens, and check user API keys. The same surface as the Rust crate
``keyward-client``, with the same verdicts (``/testdata`` proves it).

A withdrawal::

    from keyward_client import KeywardClient, Verifier, FilePins

    keyward = KeywardClient("https://auth.exchange.example", "kw_svc_...")
    verifier = Verifier("auth.exchange.example", "https://auth.exchange.example",
                        FilePins("/var/lib/exchange/keyward-pins.json"))
    details = {"asset": "BTC", "network": "bitcoin", "amount": "0.25",
               "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
               "client_reference": "payout-1"}
    step_up = keyward.create_step_up("alice", "withdrawal", details)
    keyward.wait_for_approval(step_up.id, poll_interval=2, timeout=300)
    redeemed, proof = keyward.redeem_verified(step_up.id, "alice", "withdrawal", details, verifier)
    pay(details)  # only here: anything else raised
"""

from .approval import ApprovalEvidence, VerifiedApproval, verify_approval
from .chain import ChainEntry, ChainError, ChainKey, ChainState, Pin, Statement, follow
from .challenge import CHAIN_TAG, STEP_UP_TAG, chain_challenge, step_up_challenge
from .canonical import canonical_json
from .client import KeywardClient
from .details import Canonical, canonical_of, canonicalise, digest_of
from .errors import (
    AlreadyRedeemed,
    ApiKeyRefused,
    ApprovalExpired,
    ChainRestarted,
    Ended,
    Forbidden,
    HttpError,
    InvalidUrl,
    KeywardError,
    NotApproved,
    NotFound,
    PinStoreError,
    PolicyRefused,
    ProblemError,
    Timeout,
    TokenError,
    TransportError,
    Unauthorized,
    Unverified,
    ValidationError,
)
from .events import EventOrder, about_step_up
from .evidence import AssertionEvidence, EvidenceFacts, PublicKey, verify_evidence
from .pins import FilePins, MemoryPins, PinStore
from .jws import MAX_TOKEN_LEN, SET_TYP, parse_jwks
from .tokens import (
    APPROVAL_AUDIENCE,
    KEYWARD_EVENT,
    ApprovalClaims,
    SecurityEvent,
    approval_matches,
    verify_approval_token_with,
    verify_event_with,
)
from .wire import EventPage, PolledEvent, Redeemed, StepUp, VerifiedKey
from .verify import Verifier

#: The audience of every approval token (keyward-client's ``AUDIENCE``).
AUDIENCE = APPROVAL_AUDIENCE

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
