"""Number formats real devices use; the variety is the point (parsers must cope with all)."""

from __future__ import annotations

NBSP = "\u00a0"


def plain1(value: float) -> str:
    """``12543.5``: one decimal, no separator."""
    return f"{value:.1f}"


def comma1(value: float) -> str:
    """``12,543.5``: US thousands comma, one decimal."""
    return f"{value:,.1f}"


def eu1(value: float, sep: str = ".") -> str:
    """``12.543,5`` (or with another thousands separator): European decimal comma."""
    us = f"{value:,.1f}"
    return us.replace(",", "\0").replace(".", ",").replace("\0", sep)


def eu2(value: float) -> str:
    """``2,30``: two decimals with a decimal comma, no thousands separator."""
    return f"{value:.2f}".replace(".", ",")


def wh(value_kwh: float) -> str:
    """``12543500``: whole watt-hours."""
    return str(round(value_kwh * 1000.0))


def mwh4(value_kwh: float) -> str:
    """``12.5435``: megawatt-hours with four decimals (0.1 kWh resolution)."""
    return f"{value_kwh / 1000.0:.4f}"
