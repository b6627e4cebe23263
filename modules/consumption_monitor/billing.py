"""Monthly billing tables per endpoint and per client, as Polars frames (the app and the CLI show these).

Consumption over [t0, t1) is C(t1) - C(t0), C being the corrected counter evaluated at each
boundary by ``boundaries`` (interpolated between the readings around it), so the energy used
between the last reading of one month and the first of the next is split between them, never
lost. An endpoint that changed client inside the period is cut at the change (C is evaluated
there too) and each client bills its share. Counts (readings used, failed reads, resets folded)
are differences of running totals stored on the readings: no month of readings is scanned.
"""

from __future__ import annotations

import itertools
import logging
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeAlias
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine, or_, select

from .boundaries import counter_at, counter_at_many
from .config import ClientTerms
from .periods import Period, previous_period, resolve_period
from .tables import client_assignment, endpoint

log = logging.getLogger(__name__)

UNASSIGNED = "(unassigned)"
DEFAULT_MAX_EXTRAPOLATION_S = 86400.0
PeriodArg: TypeAlias = str | tuple[datetime, datetime] | Period

ENDPOINT_COLUMNS = [
    "endpoint_id", "name", "client", "feed", "location", "kwh", "first_reading_at", "last_reading_at",
    "readings_used", "start_method", "end_method", "estimated_share", "resets_folded", "failed_reads", "to_date",
    "rate", "currency", "amount", "previous_month_kwh", "change", "period_start", "period_end",
]
CLIENT_COLUMNS = [
    "client", "endpoints", "endpoint_ids", "kwh", "readings_used", "estimated_share", "resets_folded",
    "failed_reads", "to_date", "overhead_factor", "rate", "currency", "amount", "previous_month_kwh", "change",
    "period_start", "period_end",
]
POINT_COLUMNS = ["endpoint_id", "t", "c", "method", "estimated_kwh", "cum_good", "cum_failed", "cum_events",
                 "cum_estimated_kwh", "b1_t", "a1_t"]


def _endpoints(conn: Connection, period: Period) -> pl.DataFrame:
    rows = conn.execute(
        select(endpoint.c.id, endpoint.c.name, endpoint.c.feed, endpoint.c.location)
        .where(or_(endpoint.c.retired_at.is_(None), endpoint.c.retired_at > period.start))
        .order_by(endpoint.c.id)
    ).fetchall()
    return pl.DataFrame(rows, schema={"endpoint_id": pl.String, "name": pl.String,
                                                         "feed": pl.String, "location": pl.String}, orient="row")


def _assignments(conn: Connection) -> dict[str, list[tuple[float, str]]]:
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    query = select(client_assignment.c.endpoint_id, client_assignment.c.valid_from, client_assignment.c.client)
    for endpoint_id, valid_from, client in conn.execute(
            query.order_by(client_assignment.c.valid_from, client_assignment.c.id)).fetchall():
        found[endpoint_id].append((valid_from.timestamp(), client))
    return found


def _segments(ids: list[str], assignments: Mapping[str, list[tuple[float, str]]], period: Period
              ) -> list[tuple[str, str, float, float]]:
    """(endpoint, client, start, end) pieces of the period, cut where the client changes."""
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    pieces = []
    for endpoint_id in ids:
        history = assignments.get(endpoint_id, [])
        starts = [when for when, _ in history]
        cuts = [t0, *[when for when in starts if t0 < when < t1], t1]
        for start, end in itertools.pairwise(cuts):
            index = bisect_right(starts, start) - 1
            client = history[index][1] if index >= 0 else UNASSIGNED
            pieces.append((endpoint_id, client, start, end))
    return pieces


PointCache = dict[tuple[float, tuple[str, ...] | None], pl.DataFrame]


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


def _prefetch(conn: Connection, instants: list[datetime], max_extrapolation_s: float, cache: PointCache) -> None:
    """C(t) of every endpoint at the period bounds, in one query, before the periods ask for them."""
    wanted = sorted({when for when in instants if (when.timestamp(), None) not in cache})
    if not wanted:
        return
    frame = counter_at_many(conn, wanted, max_extrapolation_s).select(POINT_COLUMNS)
    for when in wanted:
        cache[(when.timestamp(), None)] = frame.filter(pl.col("t") == when.timestamp())


def _segment_frame(conn: Connection, period: Period, ids: list[str], assignments: Mapping[str, list[tuple[float, str]]],
                   max_extrapolation_s: float, clients: Mapping[str, ClientTerms], cache: PointCache
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Segments with kWh and counts, and the C(t) points they were computed from."""
    pieces = _segments(ids, assignments, period)
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    needed: dict[float, list[str] | None] = {t0: None, t1: None}
    interior: dict[float, set[str]] = defaultdict(set)
    for endpoint_id, _, start, end in pieces:
        for when in (start, end):
            if when not in (t0, t1):
                interior[when].add(endpoint_id)
    needed.update({when: sorted(members) for when, members in interior.items()})
    points = _points(conn, needed, max_extrapolation_s, cache)
    segments = pl.DataFrame(pieces, schema={"endpoint_id": pl.String, "client": pl.String, "s": pl.Float64,
                                            "e": pl.Float64}, orient="row")
    start_points = points.rename({c: f"{c}_s" for c in POINT_COLUMNS if c not in ("endpoint_id", "t")})
    end_points = points.rename({c: f"{c}_e" for c in POINT_COLUMNS if c not in ("endpoint_id", "t")})
    terms = pl.DataFrame(
        [(name, term.rate_per_kwh, term.currency, term.overhead_factor) for name, term in clients.items()],
        schema={"client": pl.String, "rate": pl.Float64, "currency": pl.String, "overhead_factor": pl.Float64},
        orient="row",
    )
    segments = (
        segments.join(start_points, left_on=["endpoint_id", "s"], right_on=["endpoint_id", "t"], how="left")
        .join(end_points, left_on=["endpoint_id", "e"], right_on=["endpoint_id", "t"], how="left")
        .join(terms, on="client", how="left")
        .with_columns(
            (pl.col("c_e") - pl.col("c_s")).alias("kwh"),
            (pl.col("cum_good_e") - pl.col("cum_good_s")).alias("readings_used"),
            (pl.col("cum_failed_e") - pl.col("cum_failed_s")).alias("failed_reads"),
            (pl.col("cum_events_e") - pl.col("cum_events_s")).alias("resets_folded"),
            (pl.col("estimated_kwh_s") + pl.col("estimated_kwh_e") + pl.col("cum_estimated_kwh_e")
             - pl.col("cum_estimated_kwh_s")).alias("estimated_kwh"),
        )
        .with_columns((pl.col("kwh") * pl.col("overhead_factor").fill_null(1.0) * pl.col("rate")).alias("amount"))
    )
    return segments, points


def _nullable_sum(column: str) -> pl.Expr:
    """A sum that stays null when every value is null (no reading is not zero kWh)."""
    return pl.when(pl.col(column).is_null().all()).then(None).otherwise(pl.col(column).sum()).alias(column)


def _share(estimated: pl.Expr, kwh: pl.Expr) -> pl.Expr:
    return pl.when(kwh > 0).then((estimated / kwh).clip(0.0, 1.0)).otherwise(0.0).round(4)


def _to_datetime(column: str) -> pl.Expr:
    return (pl.col(column) * 1_000_000).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))


def _endpoint_table(conn: Connection, period: Period, max_extrapolation_s: float,
                    clients: Mapping[str, ClientTerms], assignments: Mapping[str, list[tuple[float, str]]],
                    cache: PointCache) -> tuple[pl.DataFrame, pl.DataFrame]:
    info = _endpoints(conn, period)
    ids = info["endpoint_id"].to_list()
    segments, points = _segment_frame(conn, period, ids, assignments, max_extrapolation_s, clients, cache)
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    if segments.is_empty():
        return pl.DataFrame(schema={c: pl.String for c in ENDPOINT_COLUMNS}), segments
    at0 = points.filter(pl.col("t") == t0).select("endpoint_id", pl.col("method").alias("start_method"),
                                                   pl.col("a1_t").alias("first_t"))
    at1 = points.filter(pl.col("t") == t1).select("endpoint_id", pl.col("method").alias("end_method"),
                                                   pl.col("b1_t").alias("last_t"))
    per_endpoint = segments.group_by("endpoint_id", maintain_order=True).agg(
        _nullable_sum("kwh"),
        pl.col("estimated_kwh").sum(),
        pl.col("readings_used").sum(), pl.col("failed_reads").sum(), pl.col("resets_folded").sum(),
        pl.col("client").unique(maintain_order=True).str.join(", "),
        pl.col("rate").last(), pl.col("currency").last(),
        _nullable_sum("amount"),
    )
    table = (
        info.join(per_endpoint, on="endpoint_id", how="left")
        .join(at0, on="endpoint_id", how="left").join(at1, on="endpoint_id", how="left")
        .with_columns(
            pl.when(pl.col("first_t") < t1).then(_to_datetime("first_t")).alias("first_reading_at"),
            pl.when(pl.col("last_t") >= t0).then(_to_datetime("last_t")).alias("last_reading_at"),
            _share(pl.col("estimated_kwh"), pl.col("kwh")).alias("estimated_share"),
            pl.lit(period.to_date).alias("to_date"),
            pl.lit(period.start).alias("period_start"), pl.lit(period.end).alias("period_end"),
        )
    )
    return table, segments


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        *(pl.col(c).round(3) for c in ("kwh", "previous_month_kwh", "change") if c in frame.columns),
        *(pl.col(c).round(2) for c in ("amount",) if c in frame.columns),
    )


def _period_and_previous(engine: Engine, month: PeriodArg, tz: ZoneInfo, now: datetime,
                         clients: Mapping[str, ClientTerms] | None, max_extrapolation_s: float
                         ) -> tuple[Period, tuple[pl.DataFrame, pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]:
    """The (endpoint table, client segments) of ``month`` and of the month before, with the three
    boundaries they share looked up once."""
    period = resolve_period(month, tz, now)
    before = previous_period(period, tz)
    with engine.connect() as conn:
        assignments = _assignments(conn)
        cache: PointCache = {}
        _prefetch(conn, [before.start, period.start, period.end], max_extrapolation_s, cache)
        current = _endpoint_table(conn, period, max_extrapolation_s, clients or {}, assignments, cache)
        previous = _endpoint_table(conn, before, max_extrapolation_s, clients or {}, assignments, cache)
    return period, current, previous


def billing_by_endpoint(engine: Engine, month: PeriodArg, tz: ZoneInfo, now: datetime, *,
                        clients: Mapping[str, ClientTerms] | None = None,
                        max_extrapolation_s: float = DEFAULT_MAX_EXTRAPOLATION_S) -> pl.DataFrame:
    """One row per endpoint for ``month`` (``YYYY-MM`` in ``tz``, or a (start, end) pair)."""
    period, (table, _), (previous, _) = _period_and_previous(engine, month, tz, now, clients, max_extrapolation_s)
    if table.is_empty():
        return table.select(ENDPOINT_COLUMNS)
    table = table.join(previous.select("endpoint_id", pl.col("kwh").alias("previous_month_kwh")),
                       on="endpoint_id", how="left")
    table = table.with_columns((pl.col("kwh") - pl.col("previous_month_kwh")).alias("change"))
    log.debug("billed %d endpoint(s) for %s", table.height, period.label)
    return _rounded(table.select(ENDPOINT_COLUMNS))


def _client_table(segments: pl.DataFrame, period: Period) -> pl.DataFrame:
    return (
        segments.group_by("client").agg(
            pl.col("endpoint_id").n_unique().alias("endpoints"),
            pl.col("endpoint_id").unique().sort().str.join(", ").alias("endpoint_ids"),
            _nullable_sum("kwh"), pl.col("estimated_kwh").sum(), pl.col("readings_used").sum(),
            pl.col("failed_reads").sum(), pl.col("resets_folded").sum(),
            pl.col("overhead_factor").first(), pl.col("rate").first(), pl.col("currency").first(),
            _nullable_sum("amount"),
        )
        .with_columns(
            _share(pl.col("estimated_kwh"), pl.col("kwh")).alias("estimated_share"),
            pl.lit(period.to_date).alias("to_date"),
            pl.lit(period.start).alias("period_start"), pl.lit(period.end).alias("period_end"),
        )
        .sort("client")
    )


def billing_by_client(engine: Engine, month: PeriodArg, tz: ZoneInfo, now: datetime, *,
                      clients: Mapping[str, ClientTerms] | None = None,
                      max_extrapolation_s: float = DEFAULT_MAX_EXTRAPOLATION_S) -> pl.DataFrame:
    """One row per client: the sum of its endpoints (A and B feeds), split by dated assignments."""
    period, (_, segments), (_, previous) = _period_and_previous(engine, month, tz, now, clients, max_extrapolation_s)
    if segments.is_empty():
        return pl.DataFrame(schema={c: pl.String for c in CLIENT_COLUMNS})
    table = _client_table(segments, period)
    if not previous.is_empty():
        before = previous.group_by("client").agg(pl.col("kwh").sum().alias("previous_month_kwh"))
        table = table.join(before, on="client", how="left")
    else:
        table = table.with_columns(pl.lit(None, pl.Float64).alias("previous_month_kwh"))
    table = table.with_columns((pl.col("kwh") - pl.col("previous_month_kwh")).alias("change"))
    return _rounded(table.select(CLIENT_COLUMNS))
