"""Billing periods: calendar months in the site's time zone, as UTC instants (DST-safe).

A month starts at local midnight on the 1st; zoneinfo turns that into the right UTC instant
whether the offset is +01:00 or +02:00, so a DST month is 743 or 745 hours long, as it should.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from nxforge.sdk import NxForgeError

MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")


class PeriodError(NxForgeError, ValueError):
    """A period that cannot be billed (malformed month, end before start)."""


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; ``to_date`` when the period is still running (end = now)."""

    start: datetime
    end: datetime
    label: str
    to_date: bool = False
    month: tuple[int, int] | None = None


def _local_midnight(year: int, month: int, tz: ZoneInfo) -> datetime:
    return datetime(year, month, 1, tzinfo=tz).astimezone(UTC)


def month_period(month: str, tz: ZoneInfo, now: datetime) -> Period:
    """``YYYY-MM`` as UTC bounds; a month not over yet ends at ``now`` and is marked to date."""
    match = MONTH.match(month.strip())
    if not match or not 1 <= int(match["month"]) <= 12:
        raise PeriodError(f"{month!r} is not a month: write YYYY-MM, e.g. 2026-03")
    year, number = int(match["year"]), int(match["month"])
    start = _local_midnight(year, number, tz)
    end = _local_midnight(year + number // 12, number % 12 + 1, tz)
    if start > now:
        raise PeriodError(f"{month} has not started yet (now is {now.astimezone(tz):%Y-%m-%d %H:%M} site time)")
    if end > now:
        return Period(start, now, f"{month} (to date)", True, (year, number))
    return Period(start, end, month, False, (year, number))


def resolve_period(period: str | tuple[datetime, datetime] | Period, tz: ZoneInfo, now: datetime) -> Period:
    """A month string, an explicit (start, end) pair of aware datetimes, or a Period."""
    if isinstance(period, Period):
        return period
    if isinstance(period, str):
        return month_period(period, tz, now)
    start, end = period
    if start.tzinfo is None or end.tzinfo is None:
        raise PeriodError("give aware datetimes (with a time zone) for a custom period")
    if end <= start:
        raise PeriodError("the period's end must be after its start")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    to_date = end > now
    return Period(start, min(end, now), f"{start:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M} UTC", to_date)


def previous_period(period: Period, tz: ZoneInfo) -> Period:
    """The month before (a whole month), or the same length just before a custom period."""
    if period.month is not None:
        year, number = period.month
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
        start = _local_midnight(year, number, tz)
        return Period(start, period.start, f"{year:04d}-{number:02d}", False, (year, number))
    length = period.end - period.start
    return Period(period.start - length, period.start, "previous", False)


def current_month(tz: ZoneInfo, now: datetime) -> str:
    """``YYYY-MM`` of ``now`` in the site's time zone (the app's default month)."""
    return f"{now.astimezone(tz):%Y-%m}"
