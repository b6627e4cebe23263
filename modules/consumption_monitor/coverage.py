"""How much of a billed period was really read: covered hours, gaps estimated by a named rule, held ends.

An hour is covered when it lies between two usable readings at most ``gap_after`` apart (or twice
the endpoint's poll interval, when that is longer: a meter read hourly has no gap every hour). Longer
intervals are gaps: their energy is the counter's rise across them, spread linearly (rule
``linear``), counted as estimated, and flagged when a gap is longer than ``gap_linear_max``.
Before the first reading and after the last the counter is held (or extrapolated a little, see
``boundaries``): those hours are not covered and no energy is billed for them. Gaps come from one
windowed query per period that returns only the long intervals, not the month of readings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, select, text

from .billing_settings import GAP_RULE, BillingSettings
from .periods import Period
from .tables import endpoint, reading

Gap = tuple[float, float, float, float]  # (from t, to t, from C, to C)
ID_FILTER_LIMIT = 1000
ROLLUP_FROM_S = 3600.0

_GAPS_SQL = """
SELECT endpoint_id, prev_at, read_at, prev_c, c FROM (
  SELECT endpoint_id, read_at, corrected_kwh AS c,
         lag(read_at) OVER (PARTITION BY endpoint_id ORDER BY read_at) AS prev_at,
         lag(corrected_kwh) OVER (PARTITION BY endpoint_id ORDER BY read_at) AS prev_c
  FROM cm_reading
  WHERE corrected_kwh IS NOT NULL AND read_at >= :t0 AND read_at < :t1 {ids}
) x WHERE prev_at IS NOT NULL AND {longer}"""
# Gaps of an hour or more show between consecutive rows of the hourly rollup (a row per hour with
# usable readings: first and last of the hour), so the query reads 1 row per hour, not per reading.
_ROLLUP_GAPS_SQL = """
SELECT endpoint_id, prev_at, read_at, prev_c, c FROM (
  SELECT endpoint_id, first_at AS read_at, first_kwh AS c,
         lag(last_at) OVER (PARTITION BY endpoint_id ORDER BY hour) AS prev_at,
         lag(last_kwh) OVER (PARTITION BY endpoint_id ORDER BY hour) AS prev_c
  FROM cm_reading_hourly
  WHERE first_at IS NOT NULL AND hour >= :h0 AND hour < :t1 {ids}
) x WHERE prev_at IS NOT NULL AND prev_at >= :t0 AND read_at < :t1 AND {longer}"""
_LONGER = {"postgresql": "extract(epoch FROM read_at - prev_at) > :gap",
           "sqlite": "(julianday(read_at) - julianday(prev_at)) * 86400.0 > :gap"}


def _seconds(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def interior_gaps(conn: Connection, period: Period, endpoint_ids: list[str], gap_after_s: float,
                  use_rollup: bool = True) -> dict[str, list[Gap]]:
    """Intervals longer than ``gap_after_s`` between consecutive usable readings inside the period."""
    dialect = conn.dialect.name
    start, end = period.start, period.end
    params: dict[str, Any] = {"gap": gap_after_s + 0.5}  # julianday() differences are not exact to the second
    first_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    bounds = {"t0": start, "t1": end, "h0": first_hour}
    if dialect == "sqlite":
        params.update({key: value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")
                       for key, value in bounds.items()})
    else:
        params.update(bounds)
    ids = ""
    if len(endpoint_ids) <= ID_FILTER_LIMIT:
        names = [f":e{index}" for index in range(len(endpoint_ids))]
        ids = f"AND endpoint_id IN ({', '.join(names) or 'NULL'})"
        params.update({f"e{index}": value for index, value in enumerate(endpoint_ids)})
    template = _ROLLUP_GAPS_SQL if gap_after_s >= ROLLUP_FROM_S and use_rollup else _GAPS_SQL
    sql = template.format(ids=ids, longer=_LONGER.get(dialect, _LONGER["postgresql"]))
    wanted = set(endpoint_ids)
    found: dict[str, list[Gap]] = defaultdict(list)
    for endpoint_id, prev_at, read_at, prev_c, c in conn.execute(text(sql), params):
        if endpoint_id in wanted:
            found[endpoint_id].append((_seconds(prev_at), _seconds(read_at), float(prev_c), float(c)))
    return found


def closing_estimates(conn: Connection, period: Period, endpoint_ids: set[str]) -> dict[tuple[str, float], float]:
    """Readings of ``endpoint_ids`` in the period that carry an estimate of their own (a reset or swap folded
    with the energy its meter lost), by endpoint and time: when one closes a gap, that estimate is already
    in the gap's rise. Only endpoints with a gap are asked (an index range each)."""
    found: dict[tuple[str, float], float] = {}
    ids = sorted(endpoint_ids)
    for index in range(0, len(ids), ID_FILTER_LIMIT):
        query = select(reading.c.endpoint_id, reading.c.read_at, reading.c.estimated_kwh).where(
            reading.c.endpoint_id.in_(ids[index:index + ID_FILTER_LIMIT]), reading.c.read_at > period.start,
            reading.c.read_at <= period.end, reading.c.estimated_kwh != 0)
        for endpoint_id, at, kwh in conn.execute(query):
            found[(endpoint_id, round(_seconds(at), 3))] = float(kwh)
    return found


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _merged_length(intervals: Iterable[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def _when(seconds: float, tz: ZoneInfo) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC).astimezone(tz):%Y-%m-%d %H:%M}"


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} d" if seconds >= 86400 else f"{seconds / 3600:.1f} h"


def _segment_gaps(row: dict[str, Any], interior: list[Gap], poll_s: float | None, config: BillingSettings,
                  t0: float, t1: float) -> list[Gap]:
    """A segment's gaps, sorted: its endpoint's interior gaps longer than the gap rule allows, and the
    intervals across the period's start and end when they are that long too."""
    s, e = row["s"], row["e"]
    gap_after = max(config.gap_after_s, 2 * float(poll_s or 0.0)) + 0.5
    found = [gap for gap in interior if gap[1] - gap[0] > gap_after]
    b1, a1 = row.get("b1_t_s"), row.get("a1_t_s")
    if s == t0 and b1 is not None and a1 is not None and a1 - b1 > gap_after:
        found.append((b1, a1, row["b1_c_s"], row["a1_c_s"]))
    b1e, a1e = row.get("b1_t_e"), row.get("a1_t_e")
    if e == t1 and b1e is not None and a1e is not None and a1e - b1e > gap_after and b1e >= t0:
        found.append((b1e, a1e, row["b1_c_e"], row["a1_c_e"]))
    return sorted(set(found))


def add_coverage(conn: Connection, segments: pl.DataFrame, period: Period, config: BillingSettings,
                 tz: ZoneInfo) -> pl.DataFrame:
    """Each segment with covered_hours, period_hours, estimated_kwh (gaps included), estimated_share and notes."""
    ids = segments["endpoint_id"].unique().sort().to_list()
    polls = dict(conn.execute(select(endpoint.c.id, endpoint.c.poll_interval_s).where(endpoint.c.id.in_(ids))).all())
    gaps = interior_gaps(conn, period, ids, config.gap_after_s)
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    rows = list(segments.iter_rows(named=True))
    row_gaps = [_segment_gaps(row, gaps.get(row["endpoint_id"], []), polls.get(row["endpoint_id"]), config, t0, t1)
                for row in rows]
    with_gaps = {row["endpoint_id"] for row, found in zip(rows, row_gaps, strict=True) if found}
    own_estimates = closing_estimates(conn, period, with_gaps) if with_gaps else {}
    covered, estimated, notes = [], [], []
    for row, endpoint_gaps in zip(rows, row_gaps, strict=True):
        s, e = row["s"], row["e"]
        b1, a1 = row.get("b1_t_s"), row.get("a1_t_s")
        b1e, a1e = row.get("b1_t_e"), row.get("a1_t_e")
        uncovered: list[tuple[float, float]] = []
        if b1 is None:  # nothing read before the start: uncovered until the first reading
            uncovered.append((s, min(a1, e) if a1 is not None else e))
        if a1e is None:  # nothing read after the end: uncovered after the last reading
            uncovered.append((max(b1e, s) if b1e is not None else s, e))
        gap_kwh, line_notes = 0.0, []
        for g0, g1, c0, c1 in endpoint_gaps:
            inside = _overlap(g0, g1, s, e)
            if inside <= 0:
                continue
            uncovered.append((max(g0, s), min(g1, e)))
            gap_kwh += (c1 - c0) * inside / (g1 - g0)
            if s < g1 <= e:  # the closing reading's own estimate is in the segment's and in the gap's rise
                # (at e too: a reading exactly on a boundary counts, with its estimate, before it; not at s)
                gap_kwh -= own_estimates.get((row["endpoint_id"], round(g1, 3)), 0.0)
            flag = f", longer than {_days(config.gap_linear_max_s)}: flagged" if g1 - g0 > config.gap_linear_max_s \
                else ""
            line_notes.append(f"gap {_when(g0, tz)}..{_when(g1, tz)} ({_days(g1 - g0)}) estimated {GAP_RULE}{flag}")
        if row["method_s"] == "held" and b1 is None and a1 is not None and s == t0:
            line_notes.append(f"billed from the first reading {_when(a1, tz)}")
        if row["method_e"] == "held" and a1e is None and b1e is not None and e == t1:
            line_notes.append(f"held at the last reading {_when(b1e, tz)}: nothing billed after it")
        for side, method in (("start", row["method_s"]), ("end", row["method_e"])):
            if method == "extrapolated" and (s == t0 if side == "start" else e == t1):
                line_notes.append(f"{side} extrapolated from the nearest readings")
        covered.append(max(0.0, (e - s) - _merged_length(uncovered)) / 3600.0)
        estimated.append(None if row["kwh"] is None else (row["estimated_kwh"] or 0.0) + gap_kwh)
        notes.append(line_notes)
    frame = segments.with_columns(
        pl.Series("covered_hours", covered, dtype=pl.Float64).round(3),
        ((pl.col("e") - pl.col("s")) / 3600.0).round(3).alias("period_hours"),
        pl.Series("estimated_kwh", estimated, dtype=pl.Float64).round(3),
        pl.Series("notes", notes, dtype=pl.List(pl.String)),
    )
    share = pl.when(pl.col("kwh") > 0).then((pl.col("estimated_kwh") / pl.col("kwh")).clip(0.0, 1.0)).otherwise(
        pl.when(pl.col("kwh").is_null()).then(None).otherwise(0.0))
    return frame.with_columns(share.round(4).alias("estimated_share"))
