"""One WebAuthn assertion re-checked offline: a port of
``keyward_proof::evidence``. It proves what a key signed; whether the key is
the user's is the key chain's business (``chain.py``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from . import _b64
from ._json import DeError, Field, JObject, Path, de_str, de_struct
from ._jsonbytes import struct_from_bytes

FLAG_UP = 0x01
FLAG_UV = 0x04


class Refusal(Exception):
    """A cryptographic check refused its input; ``slug`` is stable."""

    def __init__(self, slug: str):
        super().__init__(slug)
        self.slug = slug


def de_b64(v: Any, path: Path) -> bytes:
    """Bytes as base64url without padding, strictly (``evidence::b64``)."""
    text = de_str(v, path)
    try:
        return _b64.decode(text)
    except ValueError as e:
        raise DeError(str(e), path) from None


@dataclass(frozen=True)
class PublicKey:
    """A credential public key: ``{"alg": "ES256", "key": <b64url SEC1>}``."""

    alg: str
    key: bytes

    def to_json(self) -> dict[str, str]:
        return {"alg": self.alg, "key": _b64.encode(self.key)}


def de_public_key(v: Any, path: Path, from_bytes: bool = False) -> PublicKey:
    # An adjacently tagged enum with one variant: ES256 and its key, nothing else.
    if isinstance(v, dict):
        if from_bytes and {"alg", "key"} & set(getattr(v, "dups", ())):
            raise DeError("duplicate field", path)
        for k in sorted(v):
            if k not in ("alg", "key"):
                raise DeError(f"unknown field `{k}`, expected `alg` or `key`", path)
        if "alg" not in v:
            raise DeError("missing field `alg`", path)
        alg, key = v["alg"], v.get("key", None)
    elif isinstance(v, (list, tuple)) and len(v) == 2:
        alg, key = v
    else:
        raise DeError("invalid type, expected adjacently tagged enum PublicKeyBytes", path)
    if alg != "ES256":
        raise DeError("unknown variant, expected `ES256`", (*path, "alg"))
    if isinstance(v, dict) and "key" not in v:
        raise DeError("missing field `key`", path)
    return PublicKey("ES256", de_b64(key, (*path, "key")))


@dataclass(frozen=True)
class AssertionEvidence:
    """Everything needed to re-verify one assertion offline."""

    credential_id: bytes
    authenticator_data: bytes
    client_data_json: bytes
    signature: bytes
    public_key: PublicKey

    @classmethod
    def from_json(cls, v: Any, path: Path = (), from_bytes: bool = False) -> "AssertionEvidence":
        fields = [
            Field("credential_id", de_b64),
            Field("authenticator_data", de_b64),
            Field("client_data_json", de_b64),
            Field("signature", de_b64),
            Field("public_key", lambda x, p: de_public_key(x, p, from_bytes)),
        ]
        r = de_struct(v, "AssertionEvidence", fields, path, deny_unknown=True, from_bytes=from_bytes)
        return cls(**r)

    def to_json(self) -> dict[str, Any]:
        return {
            "credential_id": _b64.encode(self.credential_id),
            "authenticator_data": _b64.encode(self.authenticator_data),
            "client_data_json": _b64.encode(self.client_data_json),
            "signature": _b64.encode(self.signature),
            "public_key": self.public_key.to_json(),
        }


@dataclass(frozen=True)
class EvidenceFacts:
    """What the signed authenticatorData says."""

    user_verified: bool
    counter: int


# clientDataJSON as serde_json reads it from the signed bytes: these members
# strictly, a duplicated one refused, anything else skipped unchecked.
_CLIENT_DATA = [("type", "str"), ("challenge", "str"), ("origin", "str"), ("crossOrigin", "opt_bool")]


def verify_evidence(
    evidence: AssertionEvidence, expected_challenge: bytes, rp_id: str, origin: str
) -> EvidenceFacts:
    """Re-verifies ``evidence``. Checks, in Keyward's order: the public key
    parses (``malformed_response``); the DER ECDSA P-256/SHA-256 signature
    over ``authenticator_data ‖ SHA-256(client_data_json)``
    (``bad_signature``) — first, so every later check reads signed bytes;
    clientDataJSON parses (``malformed_response``), is ``webauthn.get``
    (``wrong_client_data_type``), carries the challenge
    (``challenge_mismatch``), the exact origin and not ``crossOrigin``
    (``origin_mismatch``); authenticatorData has 37 bytes or more
    (``malformed_response``), the rp id hash (``rp_id_mismatch``) and UP
    (``user_not_present``). Raises :class:`Refusal`."""
    point = evidence.public_key.key
    if evidence.public_key.alg != "ES256" or len(point) != 65 or point[0] != 0x04:
        raise Refusal("malformed_response")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise Refusal("malformed_response") from None
    signed = evidence.authenticator_data + hashlib.sha256(evidence.client_data_json).digest()
    try:
        key.verify(evidence.signature, signed, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise Refusal("bad_signature") from None

    try:
        client = struct_from_bytes(evidence.client_data_json, _CLIENT_DATA)
    except ValueError:
        raise Refusal("malformed_response") from None
    if client["type"] != "webauthn.get":
        raise Refusal("wrong_client_data_type")
    try:
        challenge = _b64.decode(client["challenge"], padding=True)
    except ValueError:
        raise Refusal("challenge_mismatch") from None
    if challenge != expected_challenge:
        raise Refusal("challenge_mismatch")
    if client["origin"] != origin or client["crossOrigin"] is True:
        raise Refusal("origin_mismatch")

    auth = evidence.authenticator_data
    if len(auth) < 37:
        raise Refusal("malformed_response")
    if auth[:32] != hashlib.sha256(rp_id.encode("utf-8")).digest():
        raise Refusal("rp_id_mismatch")
    flags = auth[32]
    if not flags & FLAG_UP:
        raise Refusal("user_not_present")
    return EvidenceFacts(
        user_verified=bool(flags & FLAG_UV), counter=int.from_bytes(auth[33:37], "big")
    )


__all__ = [
    "AssertionEvidence",
    "EvidenceFacts",
    "JObject",
    "PublicKey",
    "Refusal",
    "verify_evidence",
]
