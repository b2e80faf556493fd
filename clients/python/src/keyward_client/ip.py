"""IP allow-list entries (an address or a CIDR range) in the canonical text
Keyward hashes: a port of ``keyward_proof::ip::ip_entry``.

Python's ``ipaddress`` differs from Rust in what it accepts (zone ids,
``::ffff:1.2.3.4`` printing) and the digest must match byte for byte, so both
Rust parsers are ported: the standard library's for a bare address (no
leading zeros in IPv4 octets, ``::`` stands for at least one group) and the
``ipnet`` crate's for a range (2.12.3, pinned in Cargo.lock: its address
read by the standard library's rules, its prefix length with leading zeros
allowed).
"""

from __future__ import annotations

from typing import Callable, Optional, TypeVar

T = TypeVar("T")


class _Parser:
    """A byte cursor with the atomic (rewind on failure) reads both Rust
    parsers are built from. ``std``: the standard library's rules."""

    def __init__(self, s: str, std: bool):
        self.s = s
        self.pos = 0
        self.std = std

    def atomically(self, f: Callable[[], Optional[T]]) -> Optional[T]:
        pos = self.pos
        r = f()
        if r is None:
            self.pos = pos
        return r

    def char(self, c: str) -> bool:
        if self.pos < len(self.s) and self.s[self.pos] == c:
            self.pos += 1
            return True
        return False

    def number(self, radix: int, max_digits: int, upto: int) -> Optional[int]:
        def read() -> Optional[int]:
            value = 0
            count = 0
            leading_zero = self.pos < len(self.s) and self.s[self.pos] == "0"
            while self.pos < len(self.s):
                c = self.s[self.pos]
                if c.isascii() and c.isdigit():
                    d = ord(c) - 48
                elif radix == 16 and c in "abcdefABCDEF":
                    d = int(c, 16)
                else:
                    break
                self.pos += 1
                value = value * radix + d
                count += 1
                if count > max_digits or value >= upto:
                    return None
            if count == 0:
                return None
            # std refuses "01" in an IPv4 octet; ipnet does not.
            if self.std and radix == 10 and leading_zero and count > 1:
                return None
            return value

        return self.atomically(read)

    def ipv4(self) -> Optional[bytes]:
        def read() -> Optional[bytes]:
            octets = []
            for i in range(4):
                if i and not self.char("."):
                    return None
                n = self.number(10, 3, 0x100)
                if n is None:
                    return None
                octets.append(n)
            return bytes(octets)

        return self.atomically(read)

    def _groups(self, limit: int) -> tuple[list[int], bool]:
        groups: list[int] = []
        i = 0
        while i < limit:
            if i < limit - 1:
                first = i == 0

                def v4() -> Optional[bytes]:
                    if not first and not self.char(":"):
                        return None
                    return self.ipv4()

                addr = self.atomically(v4)
                if addr is not None:
                    groups += [addr[0] << 8 | addr[1], addr[2] << 8 | addr[3]]
                    return groups, True
            first = i == 0

            def group() -> Optional[int]:
                if not first and not self.char(":"):
                    return None
                return self.number(16, 4, 0x10000)

            g = self.atomically(group)
            if g is None:
                return groups, False
            groups.append(g)
            i += 1
        return groups, False

    def ipv6(self) -> Optional[list[int]]:
        def read() -> Optional[list[int]]:
            head, head_v4 = self._groups(8)
            if len(head) == 8:
                return head
            if head_v4:
                return None
            if not (self.char(":") and self.char(":")):
                return None
            # std: "::" stands for at least one group; ipnet: possibly none.
            limit = 8 - len(head) - (1 if self.std else 0)
            tail, _ = self._groups(limit)
            return head + [0] * (8 - len(head) - len(tail)) + tail

        return self.atomically(read)

    def eof(self) -> bool:
        return self.pos == len(self.s)


def _v4_text(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def _v6_text(g: list[int]) -> str:
    """``Ipv6Addr``'s Display: IPv4-mapped as ``::ffff:a.b.c.d``, else the
    first longest run (two or more) of zero groups as ``::``."""
    if g[:6] == [0, 0, 0, 0, 0, 0xFFFF]:
        return "::ffff:" + _v4_text(bytes([g[6] >> 8, g[6] & 0xFF, g[7] >> 8, g[7] & 0xFF]))
    best_start, best_len, start, run = 0, 0, 0, 0
    for i, x in enumerate(g):
        if x == 0:
            if run == 0:
                start = i
            run += 1
            if run > best_len:
                best_start, best_len = start, run
        else:
            run = 0
    hexes = [f"{x:x}" for x in g]
    if best_len > 1:
        return (
            ":".join(hexes[:best_start]) + "::" + ":".join(hexes[best_start + best_len :])
        )
    return ":".join(hexes)


def _std_addr(s: str) -> Optional[str]:
    p = _Parser(s, std=True)
    v4 = p.ipv4()
    if v4 is not None and p.eof():
        return _v4_text(v4)
    p = _Parser(s, std=True)
    v6 = p.ipv6()
    if v6 is not None and p.eof():
        return _v6_text(v6)
    return None


def _net(s: str) -> Optional[str]:
    # ipnet: an IPv4 network, else an IPv6 one, each to the end.
    p = _Parser(s, std=True)
    v4 = p.ipv4()
    if v4 is not None and p.char("/"):
        p.std = False  # the prefix length may have leading zeros
        prefix = p.number(10, 2, 33)
        if prefix is not None and p.eof():
            value = int.from_bytes(v4, "big")
            mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
            return f"{_v4_text((value & mask).to_bytes(4, 'big'))}/{prefix}"
    p = _Parser(s, std=True)
    v6 = p.ipv6()
    if v6 is not None and p.char("/"):
        p.std = False
        prefix = p.number(10, 3, 129)
        if prefix is not None and p.eof():
            value = 0
            for x in v6:
                value = value << 16 | x
            mask = ((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1)
            value &= mask
            groups = [(value >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
            return f"{_v6_text(groups)}/{prefix}"
    return None


def ip_entry(s: str) -> Optional[str]:
    """One allow-list entry (address or CIDR range) in canonical text, or
    ``None`` when it is neither. A range is truncated to its network."""
    if not s.isascii():
        return None
    return _std_addr(s) or _net(s)
