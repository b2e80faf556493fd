"""Compact JWS as keyward-client checks it (with the ``jsonwebtoken``
crate), by hand, so that nothing is negotiable: the header (three parts, at
most 8 KiB, ``alg`` ``EdDSA`` and nothing else, no key named or embedded in
it: ``jwk``, ``jku``, ``x5u``), the key (by ``kid``, only from Keyward's
JWKS, exactly one, Ed25519), the signature, and the claims read as the
Rust side reads them. The checks run in the Rust order, so a token gets the
same verdict from every client."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import _b64
from ._json import DeError, Field, Path, de_opt, de_str, de_struct, de_vec, loads
from ._jsonbytes import struct_from_bytes
from .errors import TokenError

#: Longest token accepted (real ones are well under 1 KiB).
MAX_TOKEN_LEN = 8 * 1024
#: The ``typ`` of every Keyward event token.
SET_TYP = "secevent+jwt"

# The algorithm names jsonwebtoken knows: another one (``none``) does not
# parse, so the header is malformed rather than of the wrong algorithm.
_ALGORITHMS = frozenset(
    "HS256 HS384 HS512 ES256 ES384 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA".split()
)


# --- the header -------------------------------------------------------------


def _header_fields() -> list[Field]:
    opt_str = de_opt(de_str)

    def de_alg(v: Any, path: Path) -> str:
        if isinstance(v, str) and v in _ALGORITHMS:
            return v
        raise DeError("unknown variant", path)

    def de_jwk(v: Any, path: Path) -> Any:
        # Whatever it holds, a key in the header is refused below; one that
        # is not even an object fails to parse, which is malformed as well.
        if v is None or isinstance(v, dict):
            return v
        raise DeError("invalid type, expected struct Jwk", path)

    names = ["typ", "cty", "jku", "kid", "x5u", "x5t", "x5t#S256", "url", "nonce", "enc", "zip"]
    fields = [Field(n, opt_str, None) for n in names]
    fields += [
        Field("alg", de_alg),
        Field("jwk", de_jwk, None),
        Field("x5c", de_opt(de_vec(de_str)), None),
        Field("crit", de_opt(de_vec(de_str)), None),
    ]
    return fields


_HEADER = _header_fields()


def _parts(token: str) -> list[str]:
    if not isinstance(token, str) or len(token.encode("utf-8")) > MAX_TOKEN_LEN:
        raise TokenError("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed")
    return parts


def _header(encoded: str) -> dict[str, Any]:
    try:
        v = loads(_b64.decode(encoded))
        if not isinstance(v, dict):
            raise DeError("invalid type, expected struct Header")
        header = de_struct(v, "Header", _HEADER, from_bytes=True)
    except ValueError:
        raise TokenError("malformed") from None
    # RFC 7515 §4.1.11: Keyward uses no critical extension, so a header
    # naming any (even `null`) is refused, as keyward-client does.
    if "crit" in v:
        raise TokenError("malformed")
    return header


def _kid(header: dict[str, Any]) -> str:
    if header["jwk"] is not None or header["jku"] is not None or header["x5u"] is not None:
        raise TokenError("malformed")
    kid = header["kid"]
    if not kid:
        raise TokenError("unknown_key")
    return str(kid)


def event_kid(token: str) -> str:
    """The ``kid`` of an event token, its header checked: three parts,
    ``typ`` exactly ``secevent+jwt`` (an approval token is not an event),
    ``alg`` EdDSA, no key named or embedded."""
    header = _header(_parts(token)[0])
    if header["typ"] != SET_TYP:
        raise TokenError("malformed")
    if header["alg"] != "EdDSA":
        raise TokenError("algorithm")
    return _kid(header)


def approval_kid(token: str) -> str:
    """The ``kid`` of an approval token, its header checked (``typ`` absent
    or ``JWT``: an event is not an approval)."""
    header = _header(_parts(token)[0])
    if header["alg"] != "EdDSA":
        raise TokenError("algorithm")
    if header["typ"] is not None and header["typ"] != "JWT":
        raise TokenError("malformed")
    return _kid(header)


# --- the key set ------------------------------------------------------------


def parse_jwks(data: Any) -> list[dict[str, Any]]:
    """A JWKS document's keys (``TokenError("jwks")`` if it is not one)."""
    if isinstance(data, (bytes, bytearray, str)):
        try:
            data = loads(bytes(data) if isinstance(data, bytearray) else data)
        except ValueError:
            raise TokenError("jwks") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise TokenError("jwks")
    keys: list[dict[str, Any]] = data["keys"]
    # What jsonwebtoken's JwkSet requires of every key (whatever its type: an
    # unknown one parses, and is refused only if a token names it).
    for key in keys:
        if not isinstance(key, dict):
            raise TokenError("jwks")
        for name in ("kid", "alg", "use", "x5u", "x5t", "x5t#S256"):
            if key.get(name) is not None and not isinstance(key[name], str):
                raise TokenError("jwks")
        for name in ("key_ops", "x5c"):
            v = key.get(name)
            if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                raise TokenError("jwks")
    return keys


def find_key(keys: list[dict[str, Any]], kid: str) -> bytes:
    """The raw Ed25519 key named ``kid``: exactly one, ``OKP``/``Ed25519``,
    ``alg`` absent or ``EdDSA``, a 32-byte ``x``."""
    matching = [k for k in keys if k.get("kid") == kid]
    if not matching:
        raise TokenError("unknown_key")
    if len(matching) > 1:
        raise TokenError("jwks")
    jwk = matching[0]
    if jwk.get("alg") is not None and jwk["alg"] != "EdDSA":
        raise TokenError("jwks")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise TokenError("jwks")
    try:
        raw = _b64.decode(jwk["x"])
    except ValueError:
        raise TokenError("jwks") from None
    if len(raw) != 32:
        raise TokenError("jwks")
    return raw


_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P


def _is_point(raw: bytes) -> bool:
    """Whether 32 bytes decompress to an Edwards25519 point, as
    ed25519-dalek requires before it verifies anything (OpenSSL only fails
    the signature later, which would give another verdict)."""
    y = (int.from_bytes(raw, "little") & ((1 << 255) - 1)) % _P
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    w = u * pow(v, _P - 2, _P) % _P
    return w == 0 or pow(w, (_P - 1) // 2, _P) == 1


def verified_payload(token: str, raw_key: bytes, bad_key: str) -> bytes:
    """Checks the signature over ``header.payload`` and returns the payload
    bytes. ``bad_key``: the verdict for a key that is not a curve point."""
    header_b64, payload_b64, sig_b64 = _parts(token)
    if _header(header_b64)["alg"] != "EdDSA":
        raise TokenError("malformed")
    if not _is_point(raw_key):
        raise TokenError(bad_key)
    try:
        signature = _b64.decode(sig_b64)
    except ValueError:
        raise TokenError("malformed") from None
    try:
        if len(signature) != 64:
            raise InvalidSignature()
        Ed25519PublicKey.from_public_bytes(raw_key).verify(
            signature, f"{header_b64}.{payload_b64}".encode("utf-8")
        )
    except (InvalidSignature, ValueError):
        raise TokenError("bad_signature") from None
    try:
        return _b64.decode(payload_b64)
    except ValueError:
        raise TokenError("malformed") from None


def claims_of(payload: bytes, fields: list[tuple[str, Any]]) -> dict[str, Any]:
    """The claims as serde_json reads them from the signed bytes (members
    the struct does not know skipped unchecked), then jsonwebtoken's second
    read of the registered claims: a duplicated one, or a ``sub``, ``exp``
    or ``nbf`` that is an object or array, fails it."""
    seen: list[tuple[str, int]] = []
    try:
        claims = struct_from_bytes(payload, fields, seen)
    except ValueError:
        raise TokenError("malformed") from None
    registered = [key for key, _ in seen if key in ("exp", "nbf", "sub", "iss", "aud")]
    if len(registered) != len(set(registered)):
        raise TokenError("malformed")
    # (serde_json leaves an object or array it refuses unread — `sub`'s
    # even when empty, `exp`'s and `nbf`'s unless empty — and the read of
    # what follows then fails.)
    if any(
        (key == "sub" and first in (0x5B, 0x7B, -2)) or (key in ("exp", "nbf") and first in (0x5B, 0x7B))
        for key, first in seen
    ):
        raise TokenError("malformed")
    return claims
