"""Hourly rollup of readings (``cm_reading_hourly``), kept up to date on write, for long History ranges.

One row per endpoint and UTC hour: first and last *usable* reading of the hour (time and corrected
counter), counts of usable and failed attempts, and power (sum, count, max) of usable readings.
Energy of an hour is ``last_kwh`` minus the previous hour's ``last_kwh`` (the counter is monotonic,
so the sum over hours telescopes to the exact difference between two readings).

Written by ``store`` in the same transaction as the readings: ``add`` for readings appended at
the end of an endpoint's history (the collector's normal case), ``rebuild`` from an instant on
when the past changed (a spooled reading stored late, a swap or a correction: ``recompute_from``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from .tables import reading, reading_hourly

HOUR = timedelta(hours=1)


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in."""
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass
class Bucket:
    """One endpoint-hour being aggregated."""

    endpoint_id: str
    hour: datetime
    first_at: datetime | None = None
    last_at: datetime | None = None
    first_kwh: float | None = None
    last_kwh: float | None = None
    good: int = 0
    failed: int = 0
    power_sum_w: float = 0.0
    power_n: int = 0
    power_max_w: float | None = None

    def add(self, read_at: datetime, corrected_kwh: float | None, power_w: float | None) -> None:
        """Fold one reading in (any order)."""
        if corrected_kwh is None:
            self.failed += 1
            return
        self.good += 1
        if self.first_at is None or read_at < self.first_at:
            self.first_at, self.first_kwh = read_at, corrected_kwh
        if self.last_at is None or read_at > self.last_at:
            self.last_at, self.last_kwh = read_at, corrected_kwh
        if power_w is not None:
            self.power_sum_w += power_w
            self.power_n += 1
            self.power_max_w = power_w if self.power_max_w is None else max(self.power_max_w, power_w)

    def values(self) -> dict[str, Any]:
        """The row to write."""
        return {"endpoint_id": self.endpoint_id, "hour": self.hour, "first_at": self.first_at,
                "last_at": self.last_at, "first_kwh": self.first_kwh, "last_kwh": self.last_kwh,
                "good": self.good, "failed": self.failed, "power_sum_w": self.power_sum_w,
                "power_n": self.power_n, "power_max_w": self.power_max_w}


def buckets(rows: Iterable[tuple[str, datetime, float | None, float | None]]) -> list[Bucket]:
    """Aggregate (endpoint_id, read_at, corrected_kwh, power_w) rows into endpoint-hours."""
    found: dict[tuple[str, datetime], Bucket] = {}
    for endpoint_id, read_at, corrected_kwh, power_w in rows:
        key = (endpoint_id, hour_of(read_at))
        bucket = found.get(key)
        if bucket is None:
            bucket = found[key] = Bucket(*key)
        bucket.add(read_at, corrected_kwh, power_w)
    return list(found.values())


def add(conn: Connection, rows: Sequence[tuple[str, datetime, float | None, float | None]]) -> None:
    """Merge newly stored readings into their hours (insert, or update the existing hour)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(reading_hourly)
    old, new = reading_hourly.c, statement.excluded
    earlier = or_(old.first_at.is_(None), and_(new.first_at.is_not(None), new.first_at < old.first_at))
    later = or_(old.last_at.is_(None), and_(new.last_at.is_not(None), new.last_at > old.last_at))
    higher = or_(old.power_max_w.is_(None), new.power_max_w > old.power_max_w)
    statement = statement.on_conflict_do_update(
        index_elements=["endpoint_id", "hour"],
        set_={
            "first_at": case((earlier, new.first_at), else_=old.first_at),
            "first_kwh": case((earlier, new.first_kwh), else_=old.first_kwh),
            "last_at": case((later, new.last_at), else_=old.last_at),
            "last_kwh": case((later, new.last_kwh), else_=old.last_kwh),
            "good": old.good + new.good, "failed": old.failed + new.failed,
            "power_sum_w": old.power_sum_w + new.power_sum_w, "power_n": old.power_n + new.power_n,
            "power_max_w": case((higher, new.power_max_w), else_=old.power_max_w),
        },
    )
    conn.execute(statement, [bucket.values() for bucket in buckets(rows)])


def rebuild(conn: Connection, endpoint_id: str, since: datetime) -> int:
    """Recompute ``endpoint_id``'s hours from the hour of ``since`` on, from its readings; return hours written."""
    start = hour_of(since)
    rows = conn.execute(
        select(reading.c.endpoint_id, reading.c.read_at, reading.c.corrected_kwh, reading.c.power_w)
        .where(reading.c.endpoint_id == endpoint_id, reading.c.read_at >= start)
    ).fetchall()
    conn.execute(delete(reading_hourly).where(reading_hourly.c.endpoint_id == endpoint_id,
                                              reading_hourly.c.hour >= start))
    found = buckets(rows)
    if found:
        conn.execute(insert(reading_hourly), [bucket.values() for bucket in found])
    return len(found)
