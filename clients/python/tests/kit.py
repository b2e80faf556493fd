"""Test support: P-256 keys, assertions made as an authenticator makes them,
and key chains built from them (a port of ``keyward_proof::testing``), so
the checks can be tested without a server."""

from __future__ import annotations

import hashlib
import json
from typing import Optional

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keyward_client import _b64
from keyward_client.chain import ChainEntry, ChainKey, Statement
from keyward_client.challenge import chain_challenge
from keyward_client.evidence import AssertionEvidence, PublicKey

RP_ID = "auth.exchange.example"
ORIGIN = "https://auth.exchange.example"
USER = "00000000-0000-0000-0000-000000000007"


class Key:
    """Key number ``n``: a fixed P-256 key (scalar n repeated) and its record."""

    def __init__(self, n: int):
        self.signing = ec.derive_private_key(int.from_bytes(bytes([n]) * 32, "big"), ec.SECP256R1())
        point = self.signing.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        self.record = ChainKey(
            credential_id=bytes([n]) * 16,
            public_key=PublicKey("ES256", point),
            attestation_digest=hashlib.sha256(b"").digest(),
        )


def assert_over(
    key: Key,
    challenge: bytes,
    *,
    flags: int = 0x05,
    client: Optional[dict] = None,
    rp_id: str = RP_ID,
    counter: int = 1,
) -> AssertionEvidence:
    auth = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + counter.to_bytes(4, "big")
    body = client or {"type": "webauthn.get", "challenge": _b64.encode(challenge), "origin": ORIGIN}
    cdj = json.dumps(body, separators=(",", ":")).encode()
    sig = key.signing.sign(auth + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
    return AssertionEvidence(
        credential_id=key.record.credential_id,
        authenticator_data=auth,
        client_data_json=cdj,
        signature=sig,
        public_key=key.record.public_key,
    )


def entry(statement: Statement, endorsement: Optional[AssertionEvidence] = None) -> ChainEntry:
    return ChainEntry(statement=statement, hash=statement.hash().hex(), endorsement=endorsement)


def genesis(k: Key, user: str = USER, prev: Optional[str] = None, recovered: bool = False) -> ChainEntry:
    s = Statement(
        user=user, seq=0, action="genesis", key=k.record, at=1, nonce=bytes(32), prev=prev,
        recovered=recovered,
    )
    return entry(s)


def change(chain: list[ChainEntry], action: str, subject: Key, by: Key) -> ChainEntry:
    last = chain[-1]
    s = Statement(
        user=USER, seq=last.statement.seq + 1, action=action, key=subject.record, at=2,
        nonce=bytes([1]) * 32, prev=last.hash,
    )
    return entry(s, assert_over(by, chain_challenge(s.hash())))


# --- signed tokens ------------------------------------------------------------

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding as _Enc, PublicFormat as _Fmt  # noqa: E402


class Signer:
    """An Ed25519 signing key with a kid, as Keyward's token signer."""

    def __init__(self, kid: str, seed: int = 1):
        self.kid = kid
        self.key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)

    def jwk(self) -> dict:
        raw = self.key.public_key().public_bytes(_Enc.Raw, _Fmt.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64.encode(raw), "kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def sign(self, claims, header=None) -> str:
        h = {"alg": "EdDSA", "typ": "secevent+jwt", "kid": self.kid} if header is None else header
        head = _b64.encode(json.dumps(h).encode())
        body = _b64.encode(claims if isinstance(claims, bytes) else json.dumps(claims).encode())
        sig = self.key.sign(f"{head}.{body}".encode())
        return f"{head}.{body}.{_b64.encode(sig)}"
