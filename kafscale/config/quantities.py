"""Kubernetes resource quantities: parsing and the canonical binary-SI form.

Pure functions, no Pulumi. The grammar is Kubernetes' own
(`k8s.io/apimachinery/pkg/api/resource`):

    quantity  ::= sign? number suffix
    number    ::= digits | digits "." digits? | "." digits
    suffix    ::= binarySI | decimalSI | ("e" | "E") sign? digits
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI ::= n | u | m | "" | k | M | G | T | P | E
"""

from __future__ import annotations

import re
from fractions import Fraction

BINARY_SUFFIXES: dict[str, int] = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "Ei": 1024**6,
}
DECIMAL_SUFFIXES: dict[str, Fraction] = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}

_QUANTITY = re.compile(
    r"^(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)

INT64_MAX = 2**63 - 1
# Longer texts, or larger exponents, are never a real quantity; refusing them keeps parsing cheap
# (Python would otherwise build numbers of any size).
MAX_QUANTITY_CHARS = 64
MAX_EXPONENT = 30


def parse_quantity(text: str) -> tuple[Fraction, str] | None:
    """The exact value of a Kubernetes quantity and its suffix, or None if `text` is not one.
    Leading zeros change nothing; past them, at most MAX_QUANTITY_CHARS characters are read."""
    match = _QUANTITY.match(text)
    if match is None:
        return None
    number = match["number"].lstrip("0") or "0"
    suffix = match["suffix"] or ""
    if len(number) + len(suffix) > MAX_QUANTITY_CHARS:
        return None
    value = Fraction(number)
    if suffix in BINARY_SUFFIXES:
        value *= BINARY_SUFFIXES[suffix]
    elif suffix in DECIMAL_SUFFIXES:
        value *= DECIMAL_SUFFIXES[suffix]
    else:
        exponent = int(suffix[1:])
        if abs(exponent) > MAX_EXPONENT:
            return None
        value *= Fraction(10) ** exponent
    if match["sign"] == "-":
        value = -value
    return value, suffix


def parse_byte_count(text: str) -> int | None:
    """Whole bytes written as a plain integer or a binary quantity (`4096Mi`, `4Gi`).

    Decimal suffixes (`4G`) and exponents are refused: a byte quota in powers of ten is
    almost always a slip for the binary unit. Returns None for anything that is not a
    whole number of bytes.
    """
    parsed = parse_quantity(text)
    if parsed is None:
        return None
    value, suffix = parsed
    if suffix not in BINARY_SUFFIXES and suffix != "":
        return None
    if value.denominator != 1:
        return None
    return int(value)


def format_binary_si(byte_count: int) -> str:
    """Canonical binary-SI form, the way Kubernetes prints a BinarySI quantity.

    The largest binary suffix that divides the value exactly: 4294967296 -> `4Gi`,
    4831838208 -> `4608Mi`. Values below 1024 or not divisible by 1024 stay plain integers
    (3000000000 -> `3000000000`).
    """
    if byte_count < 0:
        raise ValueError(f"byte count must not be negative: {byte_count}")
    if byte_count < 1024:
        return str(byte_count)
    number = byte_count
    chosen = ""
    for suffix in BINARY_SUFFIXES:  # ascending: Ki, Mi, ... Ei
        if number % 1024 != 0:
            break
        number //= 1024
        chosen = suffix
    return f"{number}{chosen}"


def quantity_above(text: str, limit: int) -> bool:
    """Whether `text` is a quantity above `limit`, however long: one too long to read is judged
    on its digits (more whole digits than `limit` has, times a unit of at least 1)."""
    parsed = parse_quantity(text)
    if parsed is not None:
        return parsed[0] > limit
    match = _QUANTITY.match(text)
    if match is None or match["sign"] == "-":
        return False
    suffix = match["suffix"] or ""
    if suffix[:1] in ("e", "E") and len(suffix) > 1:  # an exponent, not the unit E
        return False
    whole = match["number"].split(".", 1)[0].lstrip("0")
    return len(whole) > len(str(limit))
