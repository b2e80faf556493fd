"""JSON read the way the Rust side reads it (serde_json and serde's derive),
so a document refused there is refused here, and for the same field.

Python's ``json`` module is laxer than serde_json in a few places that matter
to a verifier: it accepts ``NaN``/``Infinity``, lone surrogates, and keeps only
the last of duplicate keys without saying so. ``loads`` closes those gaps;
the ``de_*`` helpers below then check types as serde would, reporting the
path serde_path_to_error would report.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Optional, Sequence

_I64_MIN = -(2**63)
_U64_MAX = 2**64 - 1


class JObject(dict):  # type: ignore[type-arg]
    """A parsed JSON object; ``dups`` holds keys seen more than once (the
    last value is kept, as serde_json's ``Value`` keeps it; a struct read
    straight from bytes refuses a duplicated field instead)."""

    dups: frozenset[str] = frozenset()


def _pairs(pairs: list[tuple[str, Any]]) -> JObject:
    obj = JObject()
    dups = set()
    for key, value in pairs:
        if key in obj:
            dups.add(key)
        obj[key] = value
    if dups:
        obj.dups = frozenset(dups)
    return obj


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


def _int(text: str) -> int | float:
    # serde_json reads -0 as a float, and integers beyond i64/u64 as floats:
    # an integer field must refuse them as the Rust side does.
    if text == "-0":
        return -0.0
    value = int(text)
    if _I64_MIN <= value <= _U64_MAX:
        return value
    return _float(text)


def _no_surrogates(value: Any) -> None:
    # serde_json refuses escaped lone surrogates ("\ud800"); Python keeps them.
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            v.encode("utf-8")  # raises on a lone surrogate
        elif isinstance(v, dict):
            for k, item in v.items():
                k.encode("utf-8")
                stack.append(item)
        elif isinstance(v, list):
            stack.extend(v)


def loads(data: bytes | str) -> Any:
    """Parses one JSON document strictly (UTF-8, no NaN, no lone
    surrogates, integers as serde_json types them). Raises ``ValueError``."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
        _no_surrogates(value)
    except (RecursionError, UnicodeError) as e:
        raise ValueError(str(e)) from e
    return value


# --- serde-like reading ---------------------------------------------------

Path = Sequence[Any]  # str for a map key, int for a sequence index


class DeError(ValueError):
    """A value that does not deserialise: serde's message and the path
    (serde_path_to_error) of the value it is about."""

    def __init__(self, message: str, path: Path = ()):
        super().__init__(message)
        self.message = message
        self.path = tuple(path)

    def path_text(self) -> str:
        """The path as serde_path_to_error prints it: ``.`` for the root,
        ``a.b``, ``scopes[1]``."""
        if not self.path:
            return "."
        out = ""
        sep = ""
        for seg in self.path:
            if isinstance(seg, int):
                out += f"[{seg}]"
            else:
                out += sep + seg
            sep = "."
        return out


def unexpected(v: Any) -> str:
    """serde's ``Unexpected`` wording for a JSON value."""
    if v is None:
        return "unit value"
    if isinstance(v, bool):
        return f"boolean `{'true' if v else 'false'}`"
    if isinstance(v, int):
        return f"integer `{v}`"
    if isinstance(v, float):
        return f"floating point `{v!r}`"
    if isinstance(v, str):
        return f"string {json.dumps(v, ensure_ascii=False)}"
    if isinstance(v, (list, tuple)):
        return "sequence"
    if isinstance(v, dict):
        return "map"
    return "unsupported value"


def _type_error(v: Any, expected: str, path: Path) -> DeError:
    return DeError(f"invalid type: {unexpected(v)}, expected {expected}", path)


def de_str(v: Any, path: Path) -> str:
    if isinstance(v, str):
        return v
    raise _type_error(v, "a string", path)


def de_bool(v: Any, path: Path) -> bool:
    if isinstance(v, bool):
        return v
    raise _type_error(v, "a boolean", path)


def _integer(v: Any, lo: int, hi: int, name: str, path: Path) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _type_error(v, name, path)
    if not lo <= v <= hi:
        raise DeError(f"invalid value: integer `{v}`, expected {name}", path)
    return v


def de_i64(v: Any, path: Path) -> int:
    return _integer(v, _I64_MIN, 2**63 - 1, "i64", path)


def de_u64(v: Any, path: Path) -> int:
    return _integer(v, 0, _U64_MAX, "u64", path)


def de_u32(v: Any, path: Path) -> int:
    return _integer(v, 0, 2**32 - 1, "u32", path)


def de_opt(inner: Callable[[Any, Path], Any]) -> Callable[[Any, Path], Any]:
    """``Option<T>``: null is ``None``."""

    def read(v: Any, path: Path) -> Any:
        return None if v is None else inner(v, path)

    return read


def de_vec(inner: Callable[[Any, Path], Any]) -> Callable[[Any, Path], Any]:
    """``Vec<T>``: a JSON array, each element read at ``path[i]``."""

    def read(v: Any, path: Path) -> list[Any]:
        if not isinstance(v, (list, tuple)):
            raise _type_error(v, "a sequence", path)
        return [inner(item, (*path, i)) for i, item in enumerate(v)]

    return read


def de_map(v: Any, path: Path) -> dict[str, Any]:
    if isinstance(v, dict):
        return dict(v)
    raise _type_error(v, "a map", path)


def de_any(v: Any, path: Path) -> Any:
    return v


REQUIRED = object()


class Field:
    """One struct field: its JSON name, how to read it, and its default
    when absent (``REQUIRED`` when it has none)."""

    __slots__ = ("name", "read", "default")

    def __init__(self, name: str, read: Callable[[Any, Path], Any], default: Any = REQUIRED):
        self.name = name
        self.read = read
        self.default = default


def _expected_list(names: Sequence[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    if not quoted:
        return "there are no fields"
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return "one of " + ", ".join(quoted)


def de_struct(
    v: Any,
    name: str,
    fields: Sequence[Field],
    path: Path = (),
    *,
    deny_unknown: bool = False,
    from_bytes: bool = False,
) -> dict[str, Any]:
    """A struct as serde's derive reads it from a ``serde_json::Value``:
    members visited in key order (the ``Value``'s map is sorted), an unknown
    member refused at the struct's path when ``deny_unknown``, missing
    members reported after the visit in declaration order. A JSON array is
    read positionally, as serde accepts it. ``from_bytes``: read straight
    from a document, where a duplicated known member is an error."""
    by_name = {f.name: f for f in fields}
    out: dict[str, Any] = {}
    if isinstance(v, dict):
        if from_bytes:
            for key in sorted(getattr(v, "dups", ())):
                if key in by_name:
                    raise DeError(f"duplicate field `{key}`", path)
        for key in sorted(v):
            field = by_name.get(key)
            if field is None:
                if deny_unknown:
                    names = [f.name for f in fields]
                    # serde_path_to_error has captured the key by then: the
                    # path names the unknown member itself.
                    raise DeError(
                        f"unknown field `{key}`, expected {_expected_list(names)}", (*path, key)
                    )
                continue
            out[key] = field.read(v[key], (*path, key))
        for field in fields:
            if field.name not in out:
                if field.default is REQUIRED:
                    raise DeError(f"missing field `{field.name}`", path)
                out[field.name] = field.default
        return out
    if isinstance(v, (list, tuple)):
        for i, field in enumerate(fields):
            if i < len(v):
                out[field.name] = field.read(v[i], (*path, i))
            elif field.default is REQUIRED:
                raise DeError(
                    f"invalid length {i}, expected struct {name} with {len(fields)} elements",
                    path,
                )
            else:
                out[field.name] = field.default
        if len(v) > len(fields):
            raise DeError(f"invalid length {len(v)}, expected fewer elements in array", path)
        return out
    raise _type_error(v, f"struct {name}", path)


# --- a struct straight from bytes, unknown members skipped as serde_json skips them


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
