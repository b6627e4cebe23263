"""How numbers, money, times and statuses look on screen, decided once so every page agrees.

Kernel-level (no Streamlit) so that ``nxforge.sdk`` can hand the same functions to module pages;
core pages import them through ``nxforge.app.formatting``. Nothing here returns "None": a missing
value is an em dash, or an empty string where a time is expected.
"""

from __future__ import annotations

import html
import re
import string
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

MISSING = "—"
"""What a missing number shows as."""
THIN_SPACE = "\u202f"
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF", "JPY": "¥"}
STATUS_COLOURS = {
    "ok": "green",
    "enabled": "green",
    "running": "blue",
    "disabled": "gray",
    "never": "gray",
    "retired": "gray",
    "stale": "orange",
    "warning": "orange",
    "failed": "red",
    "failing": "red",
    "alarm": "red",
    "timeout": "orange",
    "abandoned": "orange",
    "broken": "red",
    "unknown": "gray",
}
SEVERITY_COLOURS = {"info": "blue", "warning": "orange", "error": "red", "critical": "red"}
STATUS_HEX = {"green": "#2e7d32", "orange": "#ef6c00", "red": "#c62828", "blue": "#1565c0", "gray": "#757575"}
"""The same status colours as CSS colours, for charts and cell styles."""


def status_badge(status: str | None) -> str:
    """A status as a coloured Markdown badge (for st.markdown; tables show the plain word)."""
    if not status:
        return ""
    return f":{STATUS_COLOURS.get(status, 'gray')}-badge[{status}]"


def status_hex(status: str | None) -> str:
    """The CSS colour of a status (gray when unknown)."""
    return STATUS_HEX[STATUS_COLOURS.get(status or "", "gray")]


def local_time(value: datetime | None, timezone: ZoneInfo, with_seconds: bool = False) -> str:
    """A UTC time in the site's zone, ``YYYY-MM-DD HH:MM``; empty for None."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(timezone).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def ago(value: datetime | None, now: datetime) -> str:
    """``3 min ago``: how long since ``value``, to the coarsest unit that fits."""
    if value is None:
        return "never"
    seconds = max(0.0, (now - value).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def duration(seconds: float | None) -> str:
    """``1.2 s``, ``3 min 05 s``, or empty while still running."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def number(value: float | Decimal | None, digits: int = 1, unit: str = "") -> str:
    """``12 345.6 kWh``: thin-space thousands, fixed decimals, an optional unit; an em dash for None."""
    if value is None:
        return MISSING
    text = f"{value:,.{digits}f}".replace(",", THIN_SPACE)
    return f"{text} {unit}" if unit else text


def kwh(value: float | None, digits: int = 1) -> str:
    """Energy with a thin-space thousands separator: ``12 345.6 kWh``."""
    return number(value, digits, "kWh")


def kw(value: float | None, digits: int = 2) -> str:
    """Power: ``3.25 kW``."""
    return number(value, digits, "kW")


def percent(value: float | None, digits: int = 0) -> str:
    """A share already in percent: ``87 %``."""
    return number(value, digits, "%")


def money(value: Decimal | float | None, currency: str, digits: int = 2) -> str:
    """``1 234.50 €``: the amount with separators and the currency's symbol (or its code)."""
    return number(value, digits, CURRENCY_SYMBOLS.get(currency.upper(), currency.upper()))


def label(column: str, unit: str | None = None) -> str:
    """A column name for people: ``month_kwh`` -> ``Month kWh``; ``unit`` appended in parentheses."""
    words = column.replace("_", " ").strip().split()
    units = {"kwh": "kWh", "kw": "kW", "w": "W", "v": "V", "a": "A", "pct": "%", "id": "ID"}
    shown = " ".join(units.get(word.lower(), word) for word in words)
    shown = shown[:1].upper() + shown[1:]
    return f"{shown} ({unit})" if unit else shown


_MARKDOWN_ESCAPES = str.maketrans({char: "\\" + char for char in string.punctuation})
WORD_JOINER = "\u2060"
"""Invisible, zero width: placed inside what GFM would turn into a link by itself (see ``plain``)."""
_AUTOLINK_STARTS = re.compile(r"(?i)(https?(?=://)|www(?=\.)|(?=@))")


def plain(text: object) -> str:
    """``text`` escaped for st.markdown, st.caption, st.info, labels and headers: shown as typed, never markup.

    Names, locations and messages come from config files, devices and events, which anybody with
    write access to a YAML file or a meter's web page controls. Backslash-escaping every ASCII
    punctuation character (CommonMark allows it for all of them) turns links, images, HTML tags,
    ``:red[...]`` directives and ``$`` maths into the literal characters. Line breaks become spaces
    so a name cannot start a heading or a list of its own. Escapes do not stop GFM's autolink
    literals (Streamlit finds ``http://``, ``www.`` and e-mail addresses in the text after parsing),
    so a word joiner goes after ``http``/``www`` and before ``@``: the text reads the same, no link.
    """
    shown = "" if text is None else str(text)
    return _AUTOLINK_STARTS.sub(rf"\1{WORD_JOINER}", " ".join(shown.splitlines())).translate(_MARKDOWN_ESCAPES)


def chart_text(text: object) -> str:
    """``text`` for Plotly legends, hover labels and titles, which render a subset of HTML (links, tags)."""
    return html.escape("" if text is None else str(text), quote=False)
