"""Monthly billing tables per endpoint and per client, as Polars frames (the app and the CLI show these).

Consumption over [t0, t1) is C(t1) - C(t0), C being the corrected counter evaluated at each
boundary by ``boundaries`` (interpolated between the readings around it), so the energy used
between the last reading of one month and the first of the next is split between them, never
lost. ``segments`` cuts the period where an endpoint's client or that client's tariff changes.
Amounts are the sums of the statement lines those pieces give (``statement_lines.lines_of_segments``:
time-of-use windows, fixed fees, overage, prices and factors to 6 places, money rounded per line), and
kWh the sums of the lines' rounded kWh, so a running or open month's table agrees with its statement
(adjustments to closed months are lines of the statement only). A period without a reading is null,
not 0, and a change against it is null too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TypeAlias
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine

from .billing_settings import BillingSettings
from .coverage import add_coverage
from .periods import Period, previous_period, resolve_period
from .segments import UNASSIGNED, PointCache, assignments_of, endpoints_of, prefetch, segment_frame
from .statement_lines import LINE_SCHEMA, lines_of_segments, statement_lines
from .terms import ClientTerms, decimal_of

log = logging.getLogger(__name__)

PeriodArg: TypeAlias = str | tuple[datetime, datetime] | Period

ENDPOINT_COLUMNS = [
    "endpoint_id", "name", "client", "feed", "location", "kwh", "first_reading_at", "last_reading_at",
    "readings_used", "start_method", "end_method", "estimated_share", "resets_folded", "failed_reads", "to_date",
    "overhead_factor", "rate", "currency", "amount", "previous_month_kwh", "change", "period_start", "period_end",
    "start_counter_kwh", "end_counter_kwh", "covered_hours", "period_hours", "estimated_kwh",
]
CLIENT_COLUMNS = [
    "client", "endpoints", "endpoint_ids", "kwh", "readings_used", "estimated_share", "resets_folded",
    "failed_reads", "to_date", "overhead_factor", "rate", "currency", "amount", "previous_month_kwh", "change",
    "period_start", "period_end",
]
MONEY = pl.Decimal(38, 2)
__all__ = ["UNASSIGNED", "billing_by_client", "billing_by_endpoint", "statement_lines"]


def _quantized(segments: pl.DataFrame) -> pl.DataFrame:
    """Each segment's kWh to the Wh as its statement line has it, rate and factor to the line's 6 places: sums of
    these are the statement's sums (a client's kWh is the sum of its lines' rounded quantities)."""
    def rounded(column: str, places: int) -> pl.Series:
        values = [decimal_of(value, places) for value in segments[column].to_list()]
        return pl.Series(column, [float(value) if value is not None else None for value in values], dtype=pl.Float64)

    return segments.with_columns(rounded("kwh", 3), rounded("rate", 6), rounded("overhead_factor", 6))


def _line_amounts(lines: pl.DataFrame, key: str) -> pl.DataFrame:
    """The sum of the statement lines' amounts per ``key`` (endpoint_id or client), null when none is priced."""
    return lines.group_by(key).agg(_money_sum("amount"))


def _nullable_sum(column: str) -> pl.Expr:
    """A sum that stays null when every value is null (no reading is not zero kWh)."""
    return pl.when(pl.col(column).is_null().all()).then(None).otherwise(pl.col(column).sum()).alias(column)


def _money_sum(column: str) -> pl.Expr:
    """The sum of rounded line amounts (exact in Decimal), null when no line has an amount."""
    return pl.when(pl.col(column).is_null().all()).then(None).otherwise(pl.col(column).sum()).cast(MONEY).alias(column)


def _share(estimated: pl.Expr, kwh: pl.Expr) -> pl.Expr:
    return pl.when(kwh > 0).then((estimated / kwh).clip(0.0, 1.0)).otherwise(0.0).round(4)


def _to_datetime(column: str) -> pl.Expr:
    return (pl.col(column) * 1_000_000).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))


def _endpoint_table(conn: Connection, period: Period, config: BillingSettings,
                    clients: Mapping[str, ClientTerms], assignments: Mapping[str, list[tuple[float, str]]],
                    tz: ZoneInfo, cache: PointCache, coverage: bool = True
                    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(endpoint table, segments, statement lines): with ``coverage``, amounts are the sums of the lines the
    statement is made of (time-of-use windows, fixed fees, rounded prices); without, kWh only."""
    info = endpoints_of(conn, period)
    ids = info["endpoint_id"].to_list()
    segments, points = segment_frame(conn, period, ids, assignments, config.max_extrapolation_s, clients, tz, cache)
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    lines = pl.DataFrame(schema=LINE_SCHEMA)
    if segments.is_empty() or points.is_empty():
        return pl.DataFrame(schema={c: pl.String for c in ENDPOINT_COLUMNS}), segments, lines
    if coverage:
        segments = add_coverage(conn, segments, period, config, tz)
        if clients:  # no declared client prices nothing: no lines to sum (the live page, alerts)
            lines = lines_of_segments(conn, segments, clients, tz, period, config)
    else:
        segments = segments.with_columns(pl.lit(None, pl.Float64).alias("covered_hours"),
                                         ((pl.col("e") - pl.col("s")) / 3600.0).alias("period_hours"))
    segments = _quantized(segments)
    at0 = points.filter(pl.col("t") == t0).select(
        "endpoint_id", pl.col("method").alias("start_method"), pl.col("a1_t").alias("first_t"),
        pl.col("c").alias("start_counter_kwh"))
    at1 = points.filter(pl.col("t") == t1).select(
        "endpoint_id", pl.col("method").alias("end_method"), pl.col("b1_t").alias("last_t"),
        pl.col("c").alias("end_counter_kwh"))
    per_endpoint = segments.group_by("endpoint_id", maintain_order=True).agg(
        _nullable_sum("kwh"),
        pl.col("estimated_kwh").sum(),
        pl.col("readings_used").sum(), pl.col("failed_reads").sum(), pl.col("resets_folded").sum(),
        pl.col("client").unique(maintain_order=True).str.join(", "),
        pl.col("overhead_factor").last(), pl.col("rate").last(), pl.col("currency").last(),
        pl.col("covered_hours").sum().round(3), pl.col("period_hours").sum().round(3),
    )
    table = (
        info.join(per_endpoint, on="endpoint_id", how="left")
        .join(_line_amounts(lines, "endpoint_id"), on="endpoint_id", how="left")
        .join(at0, on="endpoint_id", how="left").join(at1, on="endpoint_id", how="left")
        .with_columns(
            pl.when(pl.col("first_t") < t1).then(_to_datetime("first_t")).alias("first_reading_at"),
            pl.when(pl.col("last_t") >= t0).then(_to_datetime("last_t")).alias("last_reading_at"),
            _share(pl.col("estimated_kwh"), pl.col("kwh")).alias("estimated_share"),
            pl.lit(period.to_date).alias("to_date"),
            pl.lit(period.start).alias("period_start"), pl.lit(period.end).alias("period_end"),
        )
    )
    return table, segments, lines


def _settings(settings: BillingSettings | None, max_extrapolation_s: float | None) -> BillingSettings:
    """The billing settings (the manifest's defaults when none are given), with an explicit max_extrapolation_s."""
    config = settings if settings is not None else BillingSettings.defaults()
    return config if max_extrapolation_s is None else replace(config, max_extrapolation_s=max_extrapolation_s)


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        *(pl.col(c).round(3) for c in ("kwh", "previous_month_kwh", "change", "estimated_kwh") if c in frame.columns),
    )


Tables: TypeAlias = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]


def _period_and_previous(engine: Engine, month: PeriodArg, tz: ZoneInfo, now: datetime,
                         clients: Mapping[str, ClientTerms] | None, config: BillingSettings
                         ) -> tuple[Period, Tables, Tables]:
    """The (endpoint table, client segments, statement lines) of ``month`` and of the month before, with the
    three boundaries they share looked up once."""
    period = resolve_period(month, tz, now)
    before = previous_period(period, tz)
    with engine.connect() as conn:
        assignments = assignments_of(conn)
        cache: PointCache = {}
        prefetch(conn, [before.start, period.start, period.end], config.max_extrapolation_s, cache)
        current = _endpoint_table(conn, period, config, clients or {}, assignments, tz, cache)
        previous = _endpoint_table(conn, before, config, clients or {}, assignments, tz, cache, coverage=False)
    return period, current, previous


def billing_by_endpoint(engine: Engine, month: PeriodArg, tz: ZoneInfo, now: datetime, *,
                        clients: Mapping[str, ClientTerms] | None = None,
                        max_extrapolation_s: float | None = None,
                        settings: BillingSettings | None = None) -> pl.DataFrame:
    """One row per endpoint for ``month`` (``YYYY-MM`` in ``tz``, or a (start, end) pair)."""
    config = _settings(settings, max_extrapolation_s)
    period, (table, _, _), (previous, _, _) = _period_and_previous(engine, month, tz, now, clients, config)
    if table.is_empty():
        return table.select(ENDPOINT_COLUMNS)
    table = table.join(previous.select("endpoint_id", pl.col("kwh").alias("previous_month_kwh")),
                       on="endpoint_id", how="left")
    table = table.with_columns((pl.col("kwh") - pl.col("previous_month_kwh")).alias("change"))
    log.debug("billed %d endpoint(s) for %s", table.height, period.label)
    return _rounded(table.select(ENDPOINT_COLUMNS))


def _client_table(segments: pl.DataFrame, lines: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Per client: kWh the sum of its segments' rounded kWh, amount the sum of all its statement lines (energy,
    time-of-use, overage, fixed fees), as its statement totals them."""
    return (
        segments.group_by("client").agg(
            pl.col("endpoint_id").n_unique().alias("endpoints"),
            pl.col("endpoint_id").unique().sort().str.join(", ").alias("endpoint_ids"),
            _nullable_sum("kwh"), pl.col("estimated_kwh").sum(), pl.col("readings_used").sum(),
            pl.col("failed_reads").sum(), pl.col("resets_folded").sum(),
            pl.col("overhead_factor").first(), pl.col("rate").first(), pl.col("currency").first(),
        )
        .join(_line_amounts(lines, "client"), on="client", how="left")
        .with_columns(
            _share(pl.col("estimated_kwh"), pl.col("kwh")).alias("estimated_share"),
            pl.lit(period.to_date).alias("to_date"),
            pl.lit(period.start).alias("period_start"), pl.lit(period.end).alias("period_end"),
        )
        .sort("client")
    )


def billing_by_client(engine: Engine, month: PeriodArg, tz: ZoneInfo, now: datetime, *,
                      clients: Mapping[str, ClientTerms] | None = None,
                      max_extrapolation_s: float | None = None,
                      settings: BillingSettings | None = None) -> pl.DataFrame:
    """One row per client: the sum of its endpoints (A and B feeds), split by dated assignments."""
    config = _settings(settings, max_extrapolation_s)
    period, (_, segments, lines), (_, previous, _) = _period_and_previous(engine, month, tz, now, clients, config)
    if segments.is_empty():
        return pl.DataFrame(schema={c: pl.String for c in CLIENT_COLUMNS})
    table = _client_table(segments, lines, period)
    if not previous.is_empty():
        before = previous.group_by("client").agg(_nullable_sum("kwh").alias("previous_month_kwh"))
        table = table.join(before, on="client", how="left")
    else:
        table = table.with_columns(pl.lit(None, pl.Float64).alias("previous_month_kwh"))
    table = table.with_columns((pl.col("kwh") - pl.col("previous_month_kwh")).alias("change"))
    return _rounded(table.select(CLIENT_COLUMNS))
