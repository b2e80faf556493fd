"""base64url exactly as the Rust side decodes it (the ``base64`` crate):
URL-safe alphabet only, no padding unless asked for, and the unused low bits
of the last symbol zero, so every byte string has one spelling."""

from __future__ import annotations

import base64
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*\Z")


def encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str, *, padding: bool = False) -> bytes:
    """Decodes base64url strictly. ``padding``: ``=`` padding may be present
    (even partly), as browsers' challenge encodings vary; otherwise it is
    refused. Raises ``ValueError``."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    body = text
    pads = 0
    if padding:
        body = text.rstrip("=")
        pads = len(text) - len(body)
        if pads:
            # Padding belongs to the last quad, after at least two symbols.
            total = len(text)
            last = total % 4 or 4
            if pads > last - 2:
                raise ValueError("invalid padding")
    if not _ALPHABET.match(body):
        raise ValueError("invalid base64url symbol")
    if len(body) % 4 == 1:
        raise ValueError("invalid base64url length")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if encode(raw) != body:
        raise ValueError("non-zero trailing bits")
    return raw
