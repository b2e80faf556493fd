"""What a user approves: per-action details, validated field by field,
written in canonical JSON and hashed. A faithful port of
``keyward_proof::details`` (``canonicalise`` and ``digest_of``): the digest an
exchange computes here must be the one Keyward's challenge commits to, and a
refusal must name the same field.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from . import amount as _amount
from ._json import DeError, Field, de_opt, de_str, de_struct, de_vec, unexpected
from .canonical import canonical_json
from .errors import ValidationError
from .ip import ip_entry

ACTIONS = ("withdrawal", "address.add", "api_key.create")
API_KEY_SCOPES = ("read", "trade", "withdraw")

# Rust's char::is_whitespace (Unicode White_Space), which str.strip() is not:
# Python also strips U+001C..U+001F.
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class Canonical:
    """Details in canonical form: the action, the canonical JSON of
    ``{"action": .., "details": ..}`` and its SHA-256."""

    action: str
    details: dict[str, Any]
    json: str
    digest: bytes

    @property
    def digest_hex(self) -> str:
        return self.digest.hex()


def field_name(path: str, message: str) -> str:
    """``keyward_proof::validation::field_name``: the path, or for a missing
    or unknown member, the member named in serde's message (each once: the
    fix the shared vectors record; main's Rust doubled an unknown member,
    ``details.fee.fee``)."""
    inner = path not in (".", "")
    named = None
    for prefix in ("missing field `", "unknown field `"):
        if prefix in message:
            rest = message.split(prefix, 1)[1]
            if "`" in rest:
                named = rest.split("`", 1)[0]
                break
    # serde_path_to_error fails an unknown member while reading its key, so
    # the path already ends with it; a missing member is not in the path.
    if inner and named is not None and "unknown field `" in message:
        return path
    if inner and named is not None:
        return f"{path}.{named}"
    if inner:
        return path
    if named is not None:
        return named
    return "body"


def _field(name: str) -> str:
    return f"details.{name}"


def _check(name: str, ok: bool, rule: str) -> None:
    if not ok:
        raise ValidationError(_field(name), rule)


def _charset(s: str, lo: int, hi: int, allowed: Callable[[str], bool]) -> bool:
    return lo <= len(s) <= hi and all(allowed(c) for c in s)


def _ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _network(s: str) -> str:
    ok = _charset(s, 2, 32, lambda c: ("a" <= c <= "z") or ("0" <= c <= "9") or c == "-")
    _check(
        "network",
        ok,
        "must be a network name such as bitcoin: 2 to 32 lowercase letters, digits or dashes",
    )
    return s


def _address(name: str, s: str) -> str:
    ok = _charset(s, 8, 128, lambda c: _ascii_alnum(c) or c in ":._-")
    _check(
        name,
        ok,
        "must be an address of 8 to 128 letters and digits (':', '.', '_' and '-' allowed; no spaces)",
    )
    return s


def _memo(m: Optional[str]) -> Optional[str]:
    if m is None:
        return None
    _check(
        "memo",
        _charset(m, 1, 64, lambda c: " " <= c <= "~"),
        "must be 1 to 64 ordinary characters (letters, digits, punctuation, spaces)",
    )
    return m


def _label(s: str) -> str:
    t = s.strip(_WHITE_SPACE)
    ok = 1 <= len(t) <= 64 and not any(unicodedata.category(c) == "Cc" for c in t)
    _check(
        "label",
        ok,
        "must be 1 to 64 characters, without line breaks or other control characters",
    )
    return t


def _whole_number(v: Any, path: Any) -> Optional[int]:
    # JSON may write a count as 30 or 30.0 (both the integer 30 to JSON
    # Schema); read as f64 first, as the Rust side does.
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DeError(f"invalid type: {unexpected(v)}, expected f64", path)
    try:
        n = float(v)
    except OverflowError:
        n = float("inf")
    if n.is_integer() and 0.0 <= n <= 4294967295.0:
        return int(n)
    raise DeError(f"invalid value: {n}, expected a whole number of days", path)


_WITHDRAWAL = [
    Field("asset", de_str),
    Field("network", de_str),
    Field("amount", de_str),
    Field("destination", de_str),
    Field("memo", de_opt(de_str), None),
    Field("client_reference", de_str),
]
_ADDRESS = [
    Field("network", de_str),
    Field("address", de_str),
    Field("memo", de_opt(de_str), None),
    Field("label", de_opt(de_str), None),
]
_API_KEY = [
    Field("label", de_str),
    Field("scopes", de_vec(de_str)),
    Field("ip_allowlist", de_vec(de_str), []),
    Field("expires_in_days", _whole_number, None),
]


def _parse_raw(raw: Any, name: str, fields: list[Field]) -> dict[str, Any]:
    try:
        return de_struct(raw, name, fields, deny_unknown=True)
    except DeError as e:
        f = field_name(e.path_text(), e.message)
        raise ValidationError("details" if f == "body" else f"details.{f}", e.message) from None


def _withdrawal(raw: Any, assets: Mapping[str, int]) -> dict[str, Any]:
    r = _parse_raw(raw, "RawWithdrawal", _WITHDRAWAL)
    decimals = assets.get(r["asset"])
    if decimals is None:
        raise ValidationError(_field("asset"), "is not a supported asset")
    try:
        amt = _amount.parse(r["amount"], decimals)
    except _amount.AmountError as e:
        raise ValidationError(_field("amount"), str(e)) from None
    memo = _memo(r["memo"])
    ref_ok = _charset(r["client_reference"], 1, 64, lambda c: _ascii_alnum(c) or c in ".:_-")
    _check(
        "client_reference",
        ref_ok,
        "must be 1 to 64 letters and digits ('.', '_', ':' and '-' allowed)",
    )
    network = _network(r["network"])
    destination = _address("destination", r["destination"])
    return {
        "asset": r["asset"],
        "network": network,
        "amount": amt.text,
        "destination": destination,
        "memo": memo,
        "client_reference": r["client_reference"],
    }


def _address_add(raw: Any) -> dict[str, Any]:
    r = _parse_raw(raw, "RawAddress", _ADDRESS)
    network = _network(r["network"])
    address = _address("address", r["address"])
    memo = _memo(r["memo"])
    label = _label(r["label"] if r["label"] is not None else r["address"])
    d = {"network": network, "address": address, "label": label}
    # Only when present: entries without a memo keep the digest they had.
    if memo is not None:
        d["memo"] = memo
    return d


def _api_key(raw: Any) -> dict[str, Any]:
    r = _parse_raw(raw, "RawApiKey", _API_KEY)
    scopes = sorted(set(r["scopes"]))
    _check(
        "scopes",
        bool(scopes) and all(s in API_KEY_SCOPES for s in scopes),
        "must be one or more of read, trade and withdraw",
    )
    _check("ip_allowlist", len(r["ip_allowlist"]) <= 32, "at most 32 entries")
    ips = []
    for entry in r["ip_allowlist"]:
        canonical = ip_entry(entry)
        if canonical is None:
            raise ValidationError(
                _field("ip_allowlist"), f"`{entry}` is not an IP address or CIDR range"
            )
        ips.append(canonical)
    ips = sorted(set(ips))
    _check(
        "ip_allowlist",
        "withdraw" not in scopes or bool(ips),
        "the withdraw scope requires an IP allow-list",
    )
    days = r["expires_in_days"]
    if days is not None:
        _check("expires_in_days", 1 <= days <= 3650, "must be between 1 and 3650")
    return {
        "label": _label(r["label"]),
        "scopes": scopes,
        "ip_allowlist": ips,
        "expires_in_days": days,
    }


def canonicalise(action: str, raw: Any, assets: Mapping[str, int]) -> Canonical:
    """Validates ``raw`` for ``action`` against an asset table (asset →
    decimal places) and returns its canonical form and digest. Raises
    :class:`ValidationError` naming the field."""
    if action not in ACTIONS:
        raise ValidationError("action", "must be one of withdrawal, address.add, api_key.create")
    if action == "withdrawal":
        details = _withdrawal(raw, assets)
    elif action == "address.add":
        details = _address_add(raw)
    else:
        details = _api_key(raw)
    text = canonical_json({"action": action, "details": details})
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return Canonical(action=action, details=details, json=text, digest=digest)


def _decimals_shown(amount: str) -> int:
    # Rust counts bytes of the fraction after trimming zeros.
    if "." not in amount:
        return 0
    return len(amount.split(".", 1)[1].rstrip("0").encode("utf-8"))


def canonical_of(action: str, raw: Any) -> Canonical:
    """:func:`canonicalise` without Keyward's asset table, as an exchange's
    back end runs it: the asset is taken as having exactly the decimal
    places the amount shows (the canonical form does not depend on the
    table; whether the asset and its precision are allowed is Keyward's
    check when the step-up is created)."""
    assets: dict[str, int] = {}
    if isinstance(raw, dict):
        asset, amt = raw.get("asset"), raw.get("amount")
        if isinstance(asset, str) and isinstance(amt, str):
            assets[asset] = _decimals_shown(amt)
    return canonicalise(action, raw, assets)


def digest_of(action: str, raw: Any) -> bytes:
    """``keyward_proof::details::digest_of``: the SHA-256 Keyward's challenge
    commits to for these details."""
    return canonical_of(action, raw).digest
