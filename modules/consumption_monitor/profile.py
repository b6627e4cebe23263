"""The corrected counter inside a segment, as a function of time: for time-of-use windows and peak demand.

Inside a segment C(t) is linear between usable readings and pinned to the segment's own boundary
values (so windows and slots add up to the segment's energy exactly, whatever the boundary
method). Peak demand is the highest average power over fixed slots (``peak_interval``, 15 min by
default) aligned on the period start, from the rise of C across each slot. Only endpoints whose
client has such terms are read, one query per period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection

from .periods import Period
from .terms import WEEKDAYS, TouWindow

Readings = dict[str, tuple[np.ndarray, np.ndarray]]
CHUNK = 1000


_EPOCH = {"postgresql": "extract(epoch FROM read_at)::float8",
          "sqlite": "(julianday(read_at) - 2440587.5) * 86400.0"}


def usable_readings(conn: Connection, period: Period, endpoint_ids: Sequence[str]) -> Readings:
    """(times, corrected kWh) of each endpoint's usable readings inside the period, as arrays.

    Plain tuples of floats straight from the driver (epoch seconds computed in SQL): a month of
    15-minute readings is ~3,000 rows per endpoint, and building a datetime per row costs more
    than the rest of the statement."""
    epoch = _EPOCH.get(conn.dialect.name, _EPOCH["postgresql"])
    found: Readings = {}
    ids = sorted(set(endpoint_ids))
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    if conn.dialect.name == "sqlite":  # UTC text, as the UTCDateTime column stores it
        bounds: tuple[Any, Any] = (start.replace(tzinfo=None).isoformat(" ", timespec="microseconds"),
                                   end.replace(tzinfo=None).isoformat(" ", timespec="microseconds"))
    else:
        bounds = (start, end)
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for index in range(0, len(ids), CHUNK):
        chunk = ids[index:index + CHUNK]
        sql = (f"SELECT endpoint_id, {epoch}, corrected_kwh FROM cm_reading WHERE endpoint_id IN "
               f"({', '.join([marker] * len(chunk))}) AND corrected_kwh IS NOT NULL AND read_at >= {marker} "
               f"AND read_at < {marker} ORDER BY endpoint_id, read_at")
        rows = conn.exec_driver_sql(sql, (*chunk, *bounds)).fetchall()
        if not rows:
            continue
        names = np.array([row[0] for row in rows])
        values = np.array([(row[1], row[2]) for row in rows], dtype=float)
        cuts = np.flatnonzero(names[1:] != names[:-1]) + 1
        for part_names, part in zip(np.split(names, cuts), np.split(values, cuts), strict=True):
            found[str(part_names[0])] = (part[:, 0], part[:, 1])
    return found


def hourly_knots(conn: Connection, period: Period, endpoint_ids: Sequence[str]) -> Readings:
    """The first and last usable reading of every hour, from the hourly rollup: the readings that
    bracket each whole hour, so C at any whole hour is the same as from every reading."""
    epoch = _EPOCH.get(conn.dialect.name, _EPOCH["postgresql"])
    found: Readings = {}
    ids = sorted(set(endpoint_ids))
    first_hour = period.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    bounds: tuple[Any, Any] = (first_hour, period.end.astimezone(UTC))
    if conn.dialect.name == "sqlite":
        bounds = tuple(when.replace(tzinfo=None).isoformat(" ", timespec="microseconds") for when in bounds)
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for index in range(0, len(ids), CHUNK):
        chunk = ids[index:index + CHUNK]
        sql = (f"SELECT endpoint_id, {epoch.replace('read_at', 'first_at')}, first_kwh, "
               f"{epoch.replace('read_at', 'last_at')}, last_kwh FROM cm_reading_hourly WHERE endpoint_id IN "
               f"({', '.join([marker] * len(chunk))}) AND first_at IS NOT NULL AND hour >= {marker} "
               f"AND hour < {marker} ORDER BY endpoint_id, hour")
        by_endpoint: dict[str, list[tuple[float, float]]] = {}
        for endpoint_id, t_first, c_first, t_last, c_last in conn.exec_driver_sql(sql, (*chunk, *bounds)):
            knots = by_endpoint.setdefault(endpoint_id, [])
            knots.append((t_first, c_first))
            knots.append((t_last, c_last))
        for endpoint_id, knots in by_endpoint.items():
            times, positions = np.unique(np.array([t for t, _ in knots]), return_index=True)
            found[endpoint_id] = (times, np.array([c for _, c in knots])[positions])
    return found


def segment_counter(segment: dict[str, Any], readings: Readings) -> tuple[np.ndarray, np.ndarray]:
    """Knots of C inside [s, e]: the boundary values and the readings strictly between."""
    s, e = segment["s"], segment["e"]
    times, values = readings.get(segment["endpoint_id"], (np.array([]), np.array([])))
    inside = (times > s) & (times < e)
    knots_t = np.concatenate(([s], times[inside], [e]))
    knots_c = np.concatenate(([segment["c_s"]], values[inside], [segment["c_e"]]))
    return knots_t, np.maximum.accumulate(knots_c)


def window_spans(window: TouWindow, start: float, end: float, tz: ZoneInfo) -> list[tuple[float, float]]:
    """The window's occurrences inside [start, end), as UTC seconds (local days, DST-aware)."""
    first = datetime.fromtimestamp(start, UTC).astimezone(tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, UTC).astimezone(tz).date()
    begin_min, end_min = window.minutes()
    spans = []
    day = first
    while day <= last:
        if WEEKDAYS[day.weekday()] in window.days:
            finish_day = day if end_min > begin_min else day + timedelta(days=1)
            a, b = _local(day, begin_min, tz), _local(finish_day, end_min, tz)
            a, b = max(a, start), min(b, end)
            if b > a:
                spans.append((a, b))
        day += timedelta(days=1)
    return spans


def _local(day: date, minutes: int, tz: ZoneInfo) -> float:
    moment = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minutes)
    return datetime.combine(moment.date(), moment.time(), tzinfo=tz).timestamp()


def window_kwh(knots: tuple[np.ndarray, np.ndarray], spans: list[tuple[float, float]]) -> float:
    """Energy drawn in the spans: the rise of C across each."""
    if not spans:
        return 0.0
    starts = np.array([a for a, _ in spans])
    ends = np.array([b for _, b in spans])
    return float(np.sum(np.interp(ends, *knots) - np.interp(starts, *knots)))


def slot_energy(knots: tuple[np.ndarray, np.ndarray], edges: np.ndarray, s: float, e: float) -> np.ndarray:
    """Energy per slot between consecutive edges, counting only what falls in [s, e]."""
    return np.diff(np.interp(np.clip(edges, s, e), *knots))


def peak(edges: np.ndarray, energy: np.ndarray) -> tuple[float, float, float] | None:
    """(peak kW, slot start, slot end) of the highest average power, None without slots."""
    if len(energy) == 0:
        return None
    hours = np.diff(edges) / 3600.0
    power = np.divide(energy, hours, out=np.zeros_like(energy), where=hours > 0)
    index = int(np.argmax(power))
    return float(power[index]), float(edges[index]), float(edges[index + 1])
