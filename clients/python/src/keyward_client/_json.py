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
from typing import Any, Callable, Sequence

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
