"""The pieces a billing period is cut into, with C(t) at both ends of each.

A period is cut per endpoint wherever its client changes (``cm_client_assignment``) and wherever
that client's tariff changes (a dated tariff in the YAML): each piece has one client and one
tariff, and its energy is C(end) - C(start), C evaluated by ``boundaries`` at every cut, so the
pieces of a month add up to the month exactly. Counts (readings used, failed reads, resets
folded) are differences of running totals stored on the readings: no month is scanned here.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, or_, select

from .boundaries import counter_at, counter_at_many
from .periods import Period
from .tables import client_assignment, endpoint
from .terms import ClientTerms

UNASSIGNED = "(unassigned)"
POINT_COLUMNS = ["endpoint_id", "t", "c", "method", "estimated_kwh", "cum_good", "cum_failed", "cum_events",
                 "cum_estimated_kwh", "b1_t", "a1_t", "b1_c", "a1_c", "origin"]
SEGMENT_SCHEMA = {"endpoint_id": pl.String, "client": pl.String, "s": pl.Float64, "e": pl.Float64,
                  "rate": pl.Float64, "currency": pl.String, "overhead_factor": pl.Float64, "tariff_from": pl.Float64}
Assignments = Mapping[str, list[tuple[float, str]]]
PointCache = dict[tuple[float, tuple[str, ...] | None], pl.DataFrame]


def endpoints_of(conn: Connection, period: Period) -> pl.DataFrame:
    """Endpoints not retired before the period starts: id, name, feed, location."""
    rows = conn.execute(
        select(endpoint.c.id, endpoint.c.name, endpoint.c.feed, endpoint.c.location)
        .where(or_(endpoint.c.retired_at.is_(None), endpoint.c.retired_at > period.start))
        .order_by(endpoint.c.id)
    ).fetchall()
    return pl.DataFrame(rows, schema={"endpoint_id": pl.String, "name": pl.String,
                                      "feed": pl.String, "location": pl.String}, orient="row")


def assignments_of(conn: Connection) -> dict[str, list[tuple[float, str]]]:
    """Per endpoint, (valid from, client) in order."""
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    query = select(client_assignment.c.endpoint_id, client_assignment.c.valid_from, client_assignment.c.client)
    for endpoint_id, valid_from, client in conn.execute(
            query.order_by(client_assignment.c.valid_from, client_assignment.c.id)).fetchall():
        found[endpoint_id].append((valid_from.timestamp(), client))
    return found


def pieces(ids: list[str], assignments: Assignments, period: Period, clients: Mapping[str, ClientTerms],
           tz: ZoneInfo) -> list[tuple[str, str, float, float, float | None, str | None, float, float]]:
    """(endpoint, client, start, end, rate, currency, overhead, tariff from), cut where client or tariff changes."""
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    dated = {name: [(when.timestamp(), tariff) for when, tariff in terms.dated(tz)] for name, terms in clients.items()}
    found = []
    for endpoint_id in ids:
        history = assignments.get(endpoint_id, [])
        starts = [when for when, _ in history]
        cuts = sorted({t0, t1, *(when for when in starts if t0 < when < t1)})
        for start, end in itertools.pairwise(cuts):
            index = bisect_right(starts, start) - 1
            client = history[index][1] if index >= 0 else UNASSIGNED
            tariffs = dated.get(client, [])
            changes = [when for when, _ in tariffs]
            inner = sorted({start, end, *(when for when in changes if start < when < end)})
            for piece_start, piece_end in itertools.pairwise(inner):
                position = bisect_right(changes, piece_start) - 1
                if position >= 0:
                    since, tariff = tariffs[position]
                    found.append((endpoint_id, client, piece_start, piece_end, tariff.rate_per_kwh, tariff.currency,
                                  tariff.overhead_factor or 1.0, since))
                else:
                    found.append((endpoint_id, client, piece_start, piece_end, None, None, 1.0, t0))
    return found


def _points(conn: Connection, needed: Mapping[float, list[str] | None], max_extrapolation_s: float,
            cache: PointCache) -> pl.DataFrame:
    """C(t) at each instant needed; a boundary shared by two periods (this month's start) is looked up once."""
    frames = []
    for when, ids in sorted(needed.items()):
        key = (when, tuple(ids) if ids is not None else None)
        if key not in cache:
            frame = counter_at(conn, datetime.fromtimestamp(when, UTC), max_extrapolation_s, ids)
            cache[key] = frame.select(POINT_COLUMNS)
        frames.append(cache[key])
    return pl.concat(frames) if frames else pl.DataFrame()


def prefetch(conn: Connection, instants: list[datetime], max_extrapolation_s: float, cache: PointCache) -> None:
    """C(t) of every endpoint at the period bounds, in one query, before the periods ask for them."""
    wanted = sorted({when for when in instants if (when.timestamp(), None) not in cache})
    if not wanted:
        return
    frame = counter_at_many(conn, wanted, max_extrapolation_s).select(POINT_COLUMNS)
    for when in wanted:
        cache[(when.timestamp(), None)] = frame.filter(pl.col("t") == when.timestamp())


def segment_frame(conn: Connection, period: Period, ids: list[str], assignments: Assignments,
                  max_extrapolation_s: float, clients: Mapping[str, ClientTerms], tz: ZoneInfo, cache: PointCache
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Segments with kWh, counts and the tariff in force, and the C(t) points they were computed from."""
    found = pieces(ids, assignments, period, clients, tz)
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    needed: dict[float, list[str] | None] = {t0: None, t1: None}
    interior: dict[float, set[str]] = defaultdict(set)
    for endpoint_id, _, start, end, *_ in found:
        for when in (start, end):
            if when not in (t0, t1):
                interior[when].add(endpoint_id)
    needed.update({when: sorted(members) for when, members in interior.items()})
    points = _points(conn, needed, max_extrapolation_s, cache)
    segments = pl.DataFrame(found, schema=SEGMENT_SCHEMA, orient="row")
    if points.is_empty():
        return segments, points
    start_points = points.rename({c: f"{c}_s" for c in POINT_COLUMNS if c not in ("endpoint_id", "t")})
    end_points = points.rename({c: f"{c}_e" for c in POINT_COLUMNS if c not in ("endpoint_id", "t")})
    segments = (
        segments.join(start_points, left_on=["endpoint_id", "s"], right_on=["endpoint_id", "t"], how="left")
        .join(end_points, left_on=["endpoint_id", "e"], right_on=["endpoint_id", "t"], how="left")
        .with_columns(
            (pl.col("c_e") - pl.col("c_s")).alias("kwh"),
            (pl.col("cum_good_e") - pl.col("cum_good_s")).alias("readings_used"),
            (pl.col("cum_failed_e") - pl.col("cum_failed_s")).alias("failed_reads"),
            (pl.col("cum_events_e") - pl.col("cum_events_s")).alias("resets_folded"),
            (pl.col("estimated_kwh_s") + pl.col("estimated_kwh_e") + pl.col("cum_estimated_kwh_e")
             - pl.col("cum_estimated_kwh_s")).alias("estimated_kwh"),
        )
    )
    return segments, points
