"""Filter widgets the core pages share, returning values ready for the query functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import streamlit as st

ALL = "(all)"


def choice_filter(label: str, options: list[str], key: str) -> str | None:
    """A select box with an "(all)" entry first; None means no filtering."""
    chosen = st.selectbox(label, [ALL, *options], key=key)
    return None if chosen in (None, ALL) else str(chosen)


def local_day_start(day: date, timezone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the site's zone, as UTC."""
    return datetime.combine(day, time(), timezone).astimezone(UTC)


def date_range_filter(
    label: str, key: str, timezone: ZoneInfo, today: date, default_days: int = 7
) -> tuple[datetime, datetime]:
    """A date range in site time; returns the UTC bounds [start of first day, start of the day after the last)."""
    picked = st.date_input(label, value=(today - timedelta(days=default_days - 1), today), key=key, max_value=today)
    days = list(picked) if isinstance(picked, tuple | list) else [picked]
    first = days[0] if days else today
    last = days[-1] if days else today
    assert isinstance(first, date) and isinstance(last, date)
    return local_day_start(first, timezone), local_day_start(last + timedelta(days=1), timezone)
