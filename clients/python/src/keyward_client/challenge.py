"""The WebAuthn challenges Keyward asks keys to sign: SHA-256 over a purpose
tag and fixed-length inputs, so a signature for one purpose never answers
another (``keyward_proof::challenge``)."""

from __future__ import annotations

import hashlib

STEP_UP_TAG = b"keyward/step-up/v1"
CHAIN_TAG = b"keyward/key-chain/v1"


def step_up_challenge(nonce: bytes, details_digest: bytes) -> bytes:
    """``SHA-256(STEP_UP_TAG ‖ nonce ‖ details_digest)``, both 32 bytes."""
    if len(nonce) != 32 or len(details_digest) != 32:
        raise ValueError("nonce and digest are 32 bytes each")
    return hashlib.sha256(STEP_UP_TAG + nonce + details_digest).digest()


def chain_challenge(entry_hash: bytes) -> bytes:
    """``SHA-256(CHAIN_TAG ‖ entry_hash)``: what a key signs to endorse one
    key-chain entry."""
    if len(entry_hash) != 32:
        raise ValueError("an entry hash is 32 bytes")
    return hashlib.sha256(CHAIN_TAG + entry_hash).digest()
