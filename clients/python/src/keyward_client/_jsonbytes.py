"""A struct read straight from bytes as ``serde_json::from_slice`` reads it
into a ``#[derive(Deserialize)]`` struct without ``deny_unknown_fields``:
the struct's own members strictly, a duplicated one refused, and every
other member skipped *unread* — its strings not checked for UTF-8 or lone
surrogates, its numbers not for range. Python's ``json`` cannot skip, so it
would refuse what Keyward accepts; this is used where the Rust side reads
bytes that way (clientDataJSON, a token's claims)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ._json import _I64_MIN, DeError, loads


class _Bytes:
    """serde_json's reader over a byte slice, for the parts that differ
    from ``json``: a member the struct does not know is skipped without
    decoding it (its strings are not checked for UTF-8 or surrogates, its
    numbers not for range), while the struct's own members are read
    strictly."""

    def __init__(self, data: bytes):
        self.b = data
        self.i = 0

    def fail(self, why: str) -> DeError:
        return DeError(f"{why} at byte {self.i}")

    def ws(self) -> int:
        while self.i < len(self.b) and self.b[self.i] in b" \t\n\r":
            self.i += 1
        return self.b[self.i] if self.i < len(self.b) else -1

    def eat(self, ch: bytes) -> None:
        if self.ws() != ch[0]:
            raise self.fail(f"expected {ch!r}")
        self.i += 1

    def literal(self, word: bytes) -> None:
        if self.b[self.i : self.i + len(word)] != word:
            raise self.fail("expected ident")
        self.i += len(word)

    def _hex4(self) -> int:
        h = self.b[self.i : self.i + 4]
        if len(h) != 4 or any(c not in b"0123456789abcdefABCDEF" for c in h):
            raise self.fail("invalid escape")
        self.i += 4
        return int(h, 16)

    def string(self, strict: bool) -> str:
        # At the opening quote. strict: a String (UTF-8, no lone surrogates);
        # otherwise skipped (escapes and control characters still checked).
        self.i += 1
        out = bytearray()
        while True:
            if self.i >= len(self.b):
                raise self.fail("EOF while parsing a string")
            c = self.b[self.i]
            self.i += 1
            if c == 0x22:
                break
            if c < 0x20:
                raise self.fail("control character while parsing a string")
            if c != 0x5C:
                out.append(c)
                continue
            if self.i >= len(self.b):
                raise self.fail("EOF while parsing a string")
            e = self.b[self.i]
            self.i += 1
            simple = {0x22: b'"', 0x5C: b"\\", 0x2F: b"/", 0x62: b"\b", 0x66: b"\f", 0x6E: b"\n", 0x72: b"\r", 0x74: b"\t"}
            if e in simple:
                out += simple[e]
            elif e == 0x75:
                n = self._hex4()
                if not strict:
                    continue
                if 0xD800 <= n <= 0xDBFF:
                    if self.b[self.i : self.i + 2] != b"\\u":
                        raise self.fail("lone leading surrogate in hex escape")
                    self.i += 2
                    lo = self._hex4()
                    if not 0xDC00 <= lo <= 0xDFFF:
                        raise self.fail("lone leading surrogate in hex escape")
                    n = 0x10000 + ((n - 0xD800) << 10) + (lo - 0xDC00)
                elif 0xDC00 <= n <= 0xDFFF:
                    raise self.fail("lone trailing surrogate in hex escape")
                out += chr(n).encode("utf-8")
            else:
                raise self.fail("invalid escape")
        if not strict:
            return ""
        try:
            return out.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("invalid unicode code point") from None

    def number(self) -> None:
        b, i = self.b, self.i
        if i < len(b) and b[i] == 0x2D:
            i += 1
        if i < len(b) and b[i] == 0x30:
            i += 1
            if i < len(b) and 0x30 <= b[i] <= 0x39:
                self.i = i
                raise self.fail("invalid number")
        elif i < len(b) and 0x31 <= b[i] <= 0x39:
            while i < len(b) and 0x30 <= b[i] <= 0x39:
                i += 1
        else:
            self.i = i
            raise self.fail("invalid number")
        for lead, signs in ((0x2E, b""), (None, b"+-")):
            if lead == 0x2E:
                if i < len(b) and b[i] == 0x2E:
                    i += 1
                else:
                    continue
            else:
                if i < len(b) and b[i] in b"eE":
                    i += 1
                    if i < len(b) and b[i] in signs:
                        i += 1
                else:
                    continue
            start = i
            while i < len(b) and 0x30 <= b[i] <= 0x39:
                i += 1
            if i == start:
                self.i = i
                raise self.fail("invalid number")
        self.i = i

    def skip_value(self) -> None:
        # Iterative, as serde_json's ignore_value is (no depth limit).
        stack: list[int] = []
        while True:
            c = self.ws()
            if c == 0x22:
                self.string(strict=False)
            elif c in (0x5B, 0x7B):
                self.i += 1
                close = 0x5D if c == 0x5B else 0x7D
                if self.ws() == close:
                    self.i += 1
                else:
                    stack.append(close)
                    if close == 0x7D:
                        self._key_colon()
                    continue
            elif c == 0x74:
                self.literal(b"true")
            elif c == 0x66:
                self.literal(b"false")
            elif c == 0x6E:
                self.literal(b"null")
            elif c == 0x2D or 0x30 <= c <= 0x39:
                self.number()
            else:
                raise self.fail("expected value")
            while stack:
                c = self.ws()
                if c == 0x2C:
                    self.i += 1
                    if stack[-1] == 0x7D:
                        self._key_colon()
                    break
                if c == stack[-1]:
                    self.i += 1
                    stack.pop()
                    continue
                raise self.fail("expected `,` or end")
            if not stack:
                return

    def _key_colon(self) -> None:
        if self.ws() != 0x22:
            raise self.fail("key must be a string")
        self.string(strict=False)
        self.eat(b":")


def struct_from_bytes(
    data: bytes,
    fields: Sequence[tuple[str, Any]],
    seen: Optional[list[tuple[str, int]]] = None,
) -> dict[str, Any]:
    """``serde_json::from_slice`` of a struct without ``deny_unknown_fields``:
    the struct's members read strictly, a duplicated one refused, unknown
    ones skipped as serde_json skips them; the positional array form
    accepted too. A member's kind: ``"str"``, ``"opt_str"``, ``"i64"``,
    ``"bool"``, ``"opt_bool"``,
    ``"map"`` (a JSON object, read strictly as a ``Value``), or a nested
    struct's fields. ``seen`` collects every member's key and the first byte
    of its value (-2 for an empty array or object). Raises :class:`DeError`."""
    r = _Bytes(bytes(data))
    out = _read_struct(r, fields, seen)
    if r.ws() != -1:
        raise r.fail("trailing characters")
    return out


def _read_value(r: _Bytes, kind: Any) -> Any:
    c = r.ws()
    if isinstance(kind, (list, tuple)):
        return _read_struct(r, kind, None)
    if kind == "str":
        if c != 0x22:
            raise r.fail("invalid type, expected a string")
        return r.string(strict=True)
    if kind == "opt_str":
        if r.b[r.i : r.i + 4] == b"null":
            r.literal(b"null")
            return None
        return _read_value(r, "str")
    if kind == "bool":
        if c not in (0x74, 0x66):
            raise r.fail("invalid type, expected a boolean")
        return _read_value(r, "opt_bool")
    if kind == "opt_bool":
        for word, v in ((b"null", None), (b"true", True), (b"false", False)):
            if r.b[r.i : r.i + len(word)] == word:
                r.literal(word)
                return v
        raise r.fail("invalid type, expected a boolean")
    if kind == "i64":
        start = r.i
        r.number()
        text = r.b[start : r.i].decode("ascii")
        if any(ch in text for ch in ".eE") or text == "-0":
            raise r.fail("invalid type: floating point, expected i64")
        n = int(text)
        if not _I64_MIN <= n <= 2**63 - 1:
            raise r.fail("invalid value, expected i64")
        return n
    if kind == "map":
        start = r.i
        r.skip_value()
        v = loads(r.b[start : r.i])
        if not isinstance(v, dict):
            raise r.fail("invalid type, expected a map")
        return dict(v)
    raise ValueError(f"unknown kind {kind!r}")


def _read_struct(r: _Bytes, fields: Sequence[tuple[str, Any]], seen: Optional[list[tuple[str, int]]]) -> dict[str, Any]:
    kinds = dict(fields)
    out: dict[str, Any] = {}
    c = r.ws()
    if c == 0x7B:
        r.i += 1
        if r.ws() == 0x7D:
            r.i += 1
        else:
            while True:
                if r.ws() != 0x22:
                    raise r.fail("key must be a string")
                key = r.string(strict=True)
                r.eat(b":")
                if seen is not None:
                    first = r.ws()
                    j = r.i + 1
                    while j < len(r.b) and r.b[j] in b" \t\n\r":
                        j += 1
                    empty = first in (0x5B, 0x7B) and j < len(r.b) and r.b[j] == first + 2
                    seen.append((key, -2 if empty else first))
                if key in kinds:
                    if key in out:
                        raise r.fail(f"duplicate field `{key}`")
                    out[key] = _read_value(r, kinds[key])
                else:
                    r.skip_value()
                c = r.ws()
                r.i += 1
                if c == 0x7D:
                    break
                if c != 0x2C:
                    raise r.fail("expected `,` or `}`")
    elif c == 0x5B:
        r.i += 1
        for n, (name, kind) in enumerate(fields):
            if r.ws() == 0x5D:
                break
            if n:
                r.eat(b",")
            out[name] = _read_value(r, kind)
        r.eat(b"]")
    else:
        raise r.fail("invalid type, expected a struct")
    for name, kind in fields:
        if name not in out:
            if kind not in ("opt_bool", "opt_str"):
                raise DeError(f"missing field `{name}`")
            out[name] = None
    return out
