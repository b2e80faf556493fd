"""A user's key chain, followed from the exchange's pin: a port of
``keyward_proof::chain``. Only the genesis key is taken on trust; every
later key is in the chain because a key already in it endorsed its addition
(checked here, or up to the pinned head when the pin was made). A chain
with another genesis is reported as restarted, never followed silently."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from . import _b64
from ._json import DeError, Field, Path, de_bool, de_i64, de_opt, de_str, de_struct, de_u64
from .canonical import canonical_json
from .challenge import chain_challenge
from .evidence import AssertionEvidence, PublicKey, Refusal, de_b64, de_public_key, verify_evidence

MAX_ENTRIES = 1024

_HYPHENATED = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_SIMPLE = re.compile(r"[0-9a-fA-F]{32}\Z")


def parse_uuid(s: str) -> str:
    """A UUID in the forms the Rust ``uuid`` crate reads (simple,
    hyphenated, braced, URN), as the lower-case hyphenated text it writes.
    Python's ``uuid.UUID`` accepts more (hyphens anywhere), so not used."""
    if len(s) == 32 and _SIMPLE.match(s):
        h = s
    elif len(s) == 36 and _HYPHENATED.match(s):
        h = s.replace("-", "")
    elif len(s) == 38 and s[0] == "{" and s[-1] == "}" and _HYPHENATED.match(s[1:-1]):
        h = s[1:-1].replace("-", "")
    elif len(s) == 45 and s[:9].lower() == "urn:uuid:" and _HYPHENATED.match(s[9:]):
        h = s[9:].replace("-", "")
    else:
        raise ValueError("failed to parse a UUID")
    h = h.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def de_uuid(v: Any, path: Path) -> str:
    try:
        return parse_uuid(de_str(v, path))
    except ValueError as e:
        raise DeError(str(e), path) from None


def de_b64_opt(v: Any, path: Path) -> Optional[bytes]:
    return None if v is None else de_b64(v, path)


@dataclass(frozen=True)
class ChainKey:
    """One key as the chain records it."""

    credential_id: bytes
    public_key: PublicKey
    attestation_digest: bytes
    aaguid: Optional[str] = None

    @classmethod
    def from_json(cls, v: Any, path: Path = (), from_bytes: bool = False) -> "ChainKey":
        fields = [
            Field("credential_id", de_b64),
            Field("public_key", lambda x, p: de_public_key(x, p, from_bytes)),
            Field("aaguid", de_opt(de_uuid), None),
            Field("attestation_digest", de_b64),
        ]
        return cls(**de_struct(v, "ChainKey", fields, path, deny_unknown=True, from_bytes=from_bytes))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "credential_id": _b64.encode(self.credential_id),
            "public_key": self.public_key.to_json(),
            "attestation_digest": _b64.encode(self.attestation_digest),
        }
        if self.aaguid is not None:
            out["aaguid"] = self.aaguid
        return out


def _de_action(v: Any, path: Path) -> str:
    # A unit-variant enum: its name, or serde's one-member map form.
    if isinstance(v, dict) and len(v) == 1:
        (name, value), = v.items()
        if value is not None:
            raise DeError("invalid type, expected unit variant", path)
        v = name
    if v in ("genesis", "add", "remove"):
        return str(v)
    raise DeError("unknown variant, expected one of `genesis`, `add`, `remove`", path)


@dataclass(frozen=True)
class Statement:
    """The signed-over part of an entry."""

    user: str
    seq: int
    action: str
    key: ChainKey
    at: int
    nonce: bytes
    prev: Optional[str] = None
    recovered: bool = False

    @classmethod
    def from_json(cls, v: Any, path: Path = (), from_bytes: bool = False) -> "Statement":
        fields = [
            Field("user", de_uuid),
            Field("seq", de_u64),
            Field("prev", de_opt(de_str), None),
            Field("action", _de_action),
            Field("key", lambda x, p: ChainKey.from_json(x, p, from_bytes)),
            Field("at", de_i64),
            Field("nonce", de_b64),
            Field("recovered", de_bool, False),
        ]
        return cls(**de_struct(v, "Statement", fields, path, deny_unknown=True, from_bytes=from_bytes))

    def to_json(self) -> dict[str, Any]:
        """As serde writes it (``prev`` and ``recovered`` only when set)."""
        out: dict[str, Any] = {
            "user": self.user,
            "seq": self.seq,
            "action": self.action,
            "key": self.key.to_json(),
            "at": self.at,
            "nonce": _b64.encode(self.nonce),
        }
        if self.prev is not None:
            out["prev"] = self.prev
        if self.recovered:
            out["recovered"] = True
        return out

    def hash(self) -> bytes:
        """SHA-256 of the statement's canonical JSON: the entry's hash."""
        return hashlib.sha256(canonical_json(self.to_json()).encode("utf-8")).digest()


@dataclass(frozen=True)
class ChainEntry:
    """One entry of a key chain."""

    statement: Statement
    hash: str
    endorsement: Optional[AssertionEvidence] = None
    attestation: Optional[bytes] = None

    @classmethod
    def from_json(cls, v: Any, path: Path = (), from_bytes: bool = False) -> "ChainEntry":
        fields = [
            Field("statement", lambda x, p: Statement.from_json(x, p, from_bytes)),
            Field("hash", de_str),
            Field(
                "endorsement",
                de_opt(lambda x, p: AssertionEvidence.from_json(x, p, from_bytes)),
                None,
            ),
            Field("attestation", de_b64_opt, None),
        ]
        return cls(**de_struct(v, "ChainEntry", fields, path, deny_unknown=True, from_bytes=from_bytes))


@dataclass(frozen=True)
class Pin:
    """What an exchange keeps of a user's chain: its genesis and the head it
    has verified. Stored by the exchange, never by Keyward."""

    user: str
    genesis: str
    head: str
    seq: int

    @classmethod
    def from_json(cls, v: Any) -> "Pin":
        fields = [
            Field("user", de_uuid),
            Field("genesis", de_str),
            Field("head", de_str),
            Field("seq", de_u64),
        ]
        return cls(**de_struct(v, "Pin", fields, deny_unknown=True))

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "genesis": self.genesis, "head": self.head, "seq": self.seq}


@dataclass(frozen=True)
class ChainState:
    """A verified chain; keep :meth:`pin` as the new pin."""

    user: str
    genesis: str
    head: str
    seq: int
    keys: tuple[ChainKey, ...] = field(default_factory=tuple)
    restarted_from: Optional[str] = None

    def pin(self) -> Pin:
        return Pin(user=self.user, genesis=self.genesis, head=self.head, seq=self.seq)

    def key(self, credential_id: bytes, public_key: PublicKey) -> Optional[ChainKey]:
        for k in self.keys:
            if k.credential_id == credential_id and k.public_key == public_key:
                return k
        return None


class ChainError(Exception):
    """Why a chain is not followed; ``kind`` is the Rust variant in
    snake_case: ``length``, ``malformed``, ``broken_link``, ``unendorsed``,
    ``restarted``, ``diverged``, ``wrong_user``."""

    def __init__(self, kind: str, detail: str, **info: Any):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.info = info


def _malformed(seq: int, why: str) -> ChainError:
    return ChainError("malformed", f"key-chain entry {seq}: {why}", seq=seq)


def _broken(seq: int) -> ChainError:
    return ChainError(
        "broken_link", f"key-chain entry {seq} does not hash or link to the one before", seq=seq
    )


def _key_shape(key: ChainKey, attestation: Optional[bytes]) -> Optional[str]:
    if len(key.public_key.key) != 65 or not key.credential_id or len(key.credential_id) > 1023:
        return "a malformed key"
    if len(key.attestation_digest) != 32:
        return "an attestation digest that is not 32 bytes"
    if attestation is not None and hashlib.sha256(attestation).digest() != key.attestation_digest:
        return "an attestation that does not match its digest"
    return None


def _endorsed(entry: ChainEntry, digest: bytes, keys: list[ChainKey], rp_id: str, origin: str) -> Optional[str]:
    e = entry.endorsement
    if e is None:
        return "no endorsement"
    if not any(k.credential_id == e.credential_id and k.public_key == e.public_key for k in keys):
        return "signed by a key not in the chain"
    try:
        verify_evidence(e, chain_challenge(digest), rp_id, origin)
    except Refusal as r:
        return r.slug
    return None


def follow(entries: list[ChainEntry], rp_id: str, origin: str, pin: Optional[Pin]) -> ChainState:
    """Verifies ``entries`` from the genesis — positions, links, hashes,
    attestation digests, every endorsement above the pin — then the pin:
    same user (``wrong_user``), same genesis (``restarted``), the pinned
    head at its position (``diverged``). Raises :class:`ChainError`."""
    if not entries or len(entries) > MAX_ENTRIES:
        raise ChainError("length", "the key chain is empty or too long")
    genesis = entries[0]
    user = genesis.statement.user
    keys: list[ChainKey] = []
    prev: Optional[bytes] = None
    # Genesis entries may only open the chain (an account that had several
    # keys when its chain started); after the first change, none.
    opening = True
    hashes: list[str] = []
    for seq, entry in enumerate(entries):
        s = entry.statement
        if s.seq != seq:
            raise _malformed(seq, "out of place")
        if s.user != user:
            raise _malformed(seq, "another user's entry")
        digest = s.hash()
        if digest.hex() != entry.hash:
            raise _broken(seq)
        why = _key_shape(s.key, entry.attestation)
        if why:
            raise _malformed(seq, why)
        if s.action == "genesis" and opening:
            if entry.endorsement is not None:
                raise _malformed(seq, "a genesis is not endorsed")
            if prev is not None and s.prev != prev.hex():
                raise _broken(seq)
            if any(k.credential_id == s.key.credential_id for k in keys):
                raise _malformed(seq, "adds a key already in the chain")
            keys.append(s.key)
        elif s.action in ("add", "remove") and prev is not None:
            opening = False
            if s.prev != prev.hex():
                raise _broken(seq)
            # Up to a pinned head the endorsements were verified when the
            # pin was made; the pin check below proves these are the same
            # statements (their hashes chain to it).
            if pin is None or seq > pin.seq:
                why = _endorsed(entry, digest, keys, rp_id, origin)
                if why is not None:
                    raise ChainError(
                        "unendorsed",
                        f"key-chain entry {seq} is not endorsed by a key in the chain: {why}",
                        seq=seq,
                    )
            present = next(
                (i for i, k in enumerate(keys) if k.credential_id == s.key.credential_id), None
            )
            if s.action == "add" and present is None:
                keys.append(s.key)
            elif s.action == "remove" and present is not None and keys[present] == s.key:
                del keys[present]
            elif s.action == "add":
                raise _malformed(seq, "adds a key already in the chain")
            else:
                raise _malformed(seq, "removes a key not in the chain")
        elif s.action == "genesis":
            raise _malformed(seq, "a genesis after a change")
        else:
            raise _malformed(seq, "the chain does not start with a genesis")
        prev = digest
        hashes.append(entry.hash)
    state = ChainState(
        user=user,
        genesis=genesis.hash,
        head=hashes[-1],
        seq=len(entries) - 1,
        keys=tuple(keys),
        restarted_from=genesis.statement.prev,
    )
    if pin is not None:
        if pin.user != user:
            raise ChainError("wrong_user", "the key chain belongs to another user")
        if pin.genesis != state.genesis:
            raise ChainError(
                "restarted",
                f"the key chain started again: pinned genesis {pin.genesis}, now {state.genesis}",
                pinned=pin.genesis,
                genesis=state.genesis,
                restarted_from=state.restarted_from,
                recovered=genesis.statement.recovered,
            )
        if pin.seq >= len(hashes) or hashes[pin.seq] != pin.head:
            raise ChainError(
                "diverged",
                f"the key chain does not contain the pinned head (entry {pin.seq})",
                seq=pin.seq,
            )
    return state


__all__ = ["ChainEntry", "ChainError", "ChainKey", "ChainState", "Pin", "Statement", "follow", "parse_uuid"]
