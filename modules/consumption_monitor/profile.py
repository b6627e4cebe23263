"""The corrected counter inside a segment, as a function of time: for time-of-use windows and peak demand.

Inside a segment C(t) is linear between usable readings and pinned to the segment's own boundary
values (so windows and slots add up to the segment's energy exactly, whatever the boundary
method). Peak demand is the highest average power over fixed slots (``peak_interval``, 15 min by
default) aligned on the period start, from the rise of C across each slot. Only endpoints whose
client has such terms are read, one query per period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, select

from .periods import Period
from .tables import reading
from .terms import WEEKDAYS, TouWindow

Readings = dict[str, tuple[np.ndarray, np.ndarray]]
CHUNK = 1000


def usable_readings(conn: Connection, period: Period, endpoint_ids: Sequence[str]) -> Readings:
    """(times, corrected kWh) of each endpoint's usable readings inside the period."""
    times: dict[str, list[float]] = defaultdict(list)
    values: dict[str, list[float]] = defaultdict(list)
    ids = sorted(set(endpoint_ids))
    for index in range(0, len(ids), CHUNK):
        query = (select(reading.c.endpoint_id, reading.c.read_at, reading.c.corrected_kwh)
                 .where(reading.c.endpoint_id.in_(ids[index:index + CHUNK]), reading.c.corrected_kwh.is_not(None),
                        reading.c.read_at >= period.start, reading.c.read_at < period.end)
                 .order_by(reading.c.endpoint_id, reading.c.read_at))
        for endpoint_id, read_at, corrected in conn.execute(query):
            times[endpoint_id].append(read_at.timestamp())
            values[endpoint_id].append(corrected)
    return {key: (np.array(times[key]), np.array(values[key])) for key in times}


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
