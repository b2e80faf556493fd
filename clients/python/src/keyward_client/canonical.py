"""The canonical JSON Keyward hashes: object keys sorted by code point, no
whitespace, ``null`` members dropped (an absent optional field has one
spelling), strings escaped as serde_json escapes them — which is RFC 8785
for the values allowed here (strings, integers, booleans; never floats)."""

from __future__ import annotations

import re
from typing import Any

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def string(s: str) -> str:
    """A JSON string literal: only ``"``, ``\\`` and control characters
    escaped (short forms where JSON has one, else lower-case ``\\u00xx``);
    everything else, non-ASCII included, written as is."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, s) + '"'


def canonical_json(v: Any) -> str:
    """``keyward_proof::details::canonical_json``."""
    if isinstance(v, dict):
        entries = sorted(((k, x) for k, x in v.items() if x is not None), key=lambda e: e[0])
        return "{" + ",".join(f"{string(k)}:{canonical_json(x)}" for k, x in entries) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(canonical_json(x) for x in v) + "]"
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return string(v)
    raise TypeError(f"no canonical form for {type(v).__name__}")
