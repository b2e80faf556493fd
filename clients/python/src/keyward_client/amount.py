"""Decimal amounts as exchanges write them ("0.015"), read exactly into
integer base units: no floats, no exponents, no signs. A port of
``keyward_proof::amount::parse``."""

from __future__ import annotations

from dataclasses import dataclass

_U128_MAX = 2**128 - 1


class AmountError(ValueError):
    """Why an amount was refused: ``syntax``, ``too_precise``, ``zero`` or
    ``too_large``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


_SYNTAX = 'must be a plain decimal string like "0.015" (no sign, exponent or spaces)'


@dataclass(frozen=True)
class Amount:
    """A validated amount: canonical text (no leading or trailing zeros)
    and its value in the asset's smallest unit."""

    text: str
    units: int


def _digits(s: str) -> bool:
    return all("0" <= c <= "9" for c in s)


def parse(raw: str, decimals: int) -> Amount:
    """Parses ``raw`` for an asset with ``decimals`` decimal places."""
    if not raw or len(raw.encode("utf-8")) > 48:
        raise AmountError("syntax", _SYNTAX)
    if "." in raw:
        int_part, frac = raw.split(".", 1)
        if not frac:
            raise AmountError("syntax", _SYNTAX)
    else:
        int_part, frac = raw, ""
    if (
        not int_part
        or not _digits(int_part)
        or not _digits(frac)
        or (len(int_part) > 1 and int_part.startswith("0"))
    ):
        raise AmountError("syntax", _SYNTAX)
    frac = frac.rstrip("0")
    places = len(frac)
    if places > decimals:
        raise AmountError("too_precise", f"has more than {decimals} decimal places")
    scale = 10**decimals
    if scale > _U128_MAX:
        raise AmountError("too_large", "is too large")
    int_value = int(int_part)
    if int_value > _U128_MAX:
        raise AmountError("too_large", "is too large")
    frac_value = int(frac) if frac else 0
    if frac_value > _U128_MAX:
        raise AmountError("syntax", _SYNTAX)
    units = int_value * scale + frac_value * 10 ** (decimals - places)
    if units > _U128_MAX:
        raise AmountError("too_large", "is too large")
    if units == 0:
        raise AmountError("zero", "must be greater than zero")
    return Amount(text=f"{int_part}.{frac}" if frac else int_part, units=units)
