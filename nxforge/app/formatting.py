"""How numbers, times and statuses look in the app, decided once so every page agrees."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

STATUS_COLOURS = {
    "ok": "green",
    "enabled": "green",
    "running": "blue",
    "disabled": "gray",
    "stale": "orange",
    "failed": "red",
    "failing": "red",
    "timeout": "orange",
    "abandoned": "orange",
    "broken": "red",
}
SEVERITY_COLOURS = {"info": "blue", "warning": "orange", "error": "red", "critical": "red"}


def status_badge(status: str | None) -> str:
    """A status as a coloured Markdown badge (for st.markdown; tables show the plain word)."""
    if not status:
        return ""
    return f":{STATUS_COLOURS.get(status, 'gray')}-badge[{status}]"


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


def kwh(value: float | None, digits: int = 1) -> str:
    """Energy with a thin-space thousands separator: ``12 345.6 kWh``."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}".replace(",", "\u202f") + " kWh"

