"""Turning meter text into a number a person would trust, and converting its unit.

Rules (documented because billing depends on them):

* Spaces (also no-break and thin spaces) and apostrophes group thousands only when followed by
  exactly three digits: ``12 543,5`` is 12543.5.
* Both ``.`` and ``,`` present: the last one is the decimal mark, the other groups thousands
  (``12,543.5`` and ``12.543,5`` are both 12543.5).
* One kind of mark repeated (``1.234.567``, ``1,234,567``): thousands separators.
* One single mark, no ``decimal`` configured: ``,`` followed by exactly three digits is a
  thousands separator (``12,543`` is 12543); any other ``,`` is a decimal comma (``12,5``);
  a single ``.`` is always a decimal point (``17098.2``, ``12.543`` is 12.543).
  Configure ``decimal: ","`` for meters that write ``12.543`` meaning 12543, or ``12,543``
  meaning 12.543; ``decimal: "."`` makes every ``,`` a thousands separator.
* Placeholders (``-1``, ``N/A``, ``---``, empty, ...) raise ``NoValueError``: never zero.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal as Exact
from typing import Literal

from .errors import NoValueError, NumberFormatError, UnitMismatchError
from .units import UNITS, canonical_unit

Decimal = Literal[".", ","]

SPACES = "\u00a0\u202f\u2009\u2007 '’"
SENTINELS = frozenset(
    {"", "-1", "-1.0", "n/a", "na", "n.a.", "-", "--", "---", "----", "?", "??", "nan", "null",
     "none", "err", "error", "invalid", "unavailable", "***"}
)

NUMBER_PATTERN = r"[-+]?\d(?:\d|[.,](?=\d)|[ \u00a0\u202f\u2009\u2007'’](?=\d{3}(?!\d)))*"
UNIT_PATTERN = r"MWh|kWh|Wh|MW|kW|W|kVA|VA|kV|mV|V|mA|A|Hz|%"
_NUMBER_RE = re.compile(NUMBER_PATTERN)
_NUMBER_UNIT_RE = re.compile(rf"({NUMBER_PATTERN})\s*({UNIT_PATTERN})?(?![A-Za-z])", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedNumber:
    """A number and the unit written next to it (``None`` when the text shows none)."""

    value: float
    unit: str | None


def is_sentinel(text: str) -> bool:
    """True for the placeholders meters show when they have no reading."""
    return _squash(text).lower().rstrip(".") in SENTINELS or _squash(text).lower() in SENTINELS


def _squash(text: str) -> str:
    return " ".join(text.split()).strip()


def parse_number(text: str, decimal: Decimal | None = None) -> float:
    """Parse the number in ``text`` (the first one) following the module's rules."""
    if is_sentinel(text):
        raise NoValueError(text)
    match = _NUMBER_RE.search(text)
    if match is None:
        raise NumberFormatError(text, "no digits in it")
    if is_sentinel(match.group(0)) and not _has_other_digits(text, match):
        raise NoValueError(text)
    return _to_float(match.group(0), text, decimal)


def _has_other_digits(text: str, match: re.Match[str]) -> bool:
    rest = text[: match.start()] + text[match.end():]
    return any(ch.isdigit() for ch in rest)


def _to_float(token: str, text: str, decimal: Decimal | None) -> float:
    sign = -1.0 if token.startswith("-") else 1.0
    digits = token.lstrip("+-")
    for ch in SPACES:
        digits = digits.replace(ch, "")
    dots, commas = digits.count("."), digits.count(",")
    if dots and commas:
        dec = "." if digits.rfind(".") > digits.rfind(",") else ","
        if decimal is not None and decimal != dec:
            raise NumberFormatError(text, f"the last mark is `{dec}` but the config says decimal `{decimal}`")
    elif dots > 1 or commas > 1:
        dec = "," if dots else "."  # the repeated mark groups thousands
    elif dots == 1:
        dec = "," if decimal == "," else "."
    elif commas == 1:
        after = digits.split(",")[1]
        dec = ("." if len(after) == 3 else ",") if decimal is None else decimal
    else:
        dec = "."
    thousands = "," if dec == "." else "."
    whole, _, frac = digits.partition(dec) if dec in digits else (digits, "", "")
    groups = whole.split(thousands)
    if len(groups) > 1 and (not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        raise NumberFormatError(text, f"`{thousands}` does not group thousands in threes")
    if dec in frac or thousands in frac:
        raise NumberFormatError(text, "more than one decimal mark")
    try:
        value = sign * float("".join(groups) + ("." + frac if frac else ""))
    except ValueError as exc:
        raise NumberFormatError(text, str(exc)) from exc
    if not math.isfinite(value):
        raise NumberFormatError(text, "not finite")
    return value


def parse_quantity(text: str, decimal: Decimal | None = None) -> ParsedNumber:
    """The first number in ``text`` and the unit written right after it, if any."""
    if is_sentinel(text):
        raise NoValueError(text)
    match = _NUMBER_UNIT_RE.search(text)
    if match is None:
        raise NumberFormatError(text, "no digits in it")
    unit = match.group(2)
    return ParsedNumber(parse_number(match.group(1), decimal), canonical_unit(unit) if unit else None)


_READING_RE = re.compile(
    rf"^[^\d+\-#?*]*?[:=]?\s*({NUMBER_PATTERN})\s*({UNIT_PATTERN})?\s*$", re.IGNORECASE
)


def parse_reading(text: str, decimal: Decimal | None = None) -> ParsedNumber:
    """A whole text that is one reading: optional label (``Energy:``), number, optional unit.

    Stricter than ``parse_quantity``: garbled text such as ``1#2?4,x`` is refused instead of
    yielding its first digit.
    """
    squashed = text.strip()
    if is_sentinel(squashed):
        raise NoValueError(text)
    match = _READING_RE.match(squashed)
    if match is None:
        raise NumberFormatError(text, "expected one number with an optional label and unit (garbled?)")
    unit = match.group(2)
    return ParsedNumber(parse_number(match.group(1), decimal), canonical_unit(unit) if unit else None)


def convert(value: float, from_unit: str | None, to_unit: str | None) -> float:
    """Convert between units of one dimension (Wh/kWh/MWh, W/kW, V, A); no unit = as declared."""
    return value * float(unit_factor(from_unit, to_unit))


def unit_factor(from_unit: str | None, to_unit: str | None) -> Exact:
    """The exact factor from one unit to another of its dimension (Wh -> kWh is 0.001); 1 when either is absent."""
    if not from_unit or not to_unit:
        return Exact(1)
    src, dst = UNITS.get(from_unit.lower()), UNITS.get(to_unit.lower())
    if src is None or dst is None:
        if from_unit.lower() == to_unit.lower():
            return Exact(1)
        raise UnitMismatchError(from_unit, to_unit)
    if src[0] != dst[0]:
        raise UnitMismatchError(f"{from_unit} ({src[0]})", f"{to_unit} ({dst[0]})")
    return Exact(repr(src[1])) / Exact(repr(dst[1]))


def as_shown(number: float, from_unit: str | None, to_unit: str | None, scale: float = 1.0) -> float:
    """``number`` converted and scaled in decimal, so the result has the digits the device showed.

    In binary floating point 333444437 x 0.001 is 333444.43700000003; in decimal it is 333444.437,
    and the float stored is the one nearest to it (what ``repr`` prints back).
    """
    exact = Exact(repr(number)) * unit_factor(from_unit, to_unit) * Exact(repr(scale))
    return float(exact)

