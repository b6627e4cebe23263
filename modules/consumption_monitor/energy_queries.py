"""Energy per period and power over time: what the Energy and Power views draw (plain Polars frames).

Energy comes from the hourly rollup (each hour's rise of the corrected counter, so the hours of a
period sum to the exact difference of two readings); periods are calendar hours, days, weeks
(Monday) and months in the site's time zone. Power is the meter's own reading where it gives one,
else derived from the corrected counter between consecutive readings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from .queries import DERIVE_POWER_OVER_S, DERIVE_POWER_WITHIN_S, history, history_rollup

PERIODS = ("hour", "day", "week", "month")
"""The bar sizes of the Energy view."""
TRUNCATE = {"hour": "1h", "day": "1d", "week": "1w", "month": "1mo"}
WINDOW_WEEKS = 13
RAW_POWER_LIMIT = timedelta(days=31)
"""Up to this range Power is read from the readings; beyond, from the hourly rollup."""
ENERGY_COLUMNS = ["endpoint_id", "period_start", "kwh", "hours_read", "failed"]
POWER_COLUMNS = ["endpoint_id", "at", "kw", "source"]


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_window(anchor: datetime, period: str, tz: ZoneInfo, offset: int = 0) -> tuple[datetime, datetime]:
    """The window of bars the Energy view shows for ``anchor``, moved ``offset`` windows back or forth.

    Hours fill a day, days a month, weeks 13 weeks (a quarter), months a year; bounds are UTC
    instants of local midnights, so a day with a clock change has 23 or 25 hours.
    """
    local = anchor.astimezone(tz).date()
    if period == "hour":
        first = local + timedelta(days=offset)
        return _local_midnight(first, tz), _local_midnight(first + timedelta(days=1), tz)
    if period == "day":
        first = _add_months(local.replace(day=1), offset)
        return _local_midnight(first, tz), _local_midnight(_add_months(first, 1), tz)
    if period == "week":
        monday = local - timedelta(days=local.weekday())
        first = monday - timedelta(weeks=WINDOW_WEEKS - 1) + timedelta(weeks=WINDOW_WEEKS * offset)
        return _local_midnight(first, tz), _local_midnight(first + timedelta(weeks=WINDOW_WEEKS), tz)
    if period == "month":
        first = date(local.year + offset, 1, 1)
        return _local_midnight(first, tz), _local_midnight(date(first.year + 1, 1, 1), tz)
    raise ValueError(f"period is one of {PERIODS}, not {period!r}")


def energy_per_period(engine: Any, endpoint_ids: list[str], start: datetime, end: datetime, period: str,
                      tz: ZoneInfo, client: str | None = None) -> pl.DataFrame:
    """kWh per endpoint (of ``client`` only, when given) and period in [start, end): period_start (UTC), kwh,
    hours read, failed reads.

    A period with no reading has no row ("no data", never 0); ``hours_read`` below the period's
    hours says how much of the bar rests on readings rather than on an interpolated rise.
    """
    if period not in PERIODS:
        raise ValueError(f"period is one of {PERIODS}, not {period!r}")
    hourly = history_rollup(engine, endpoint_ids, start, end, bucket="hour", tz=tz, client=client)
    schema: dict[str, Any] = {"endpoint_id": pl.String, "period_start": pl.Datetime("us", "UTC"),
                              "kwh": pl.Float64, "hours_read": pl.Int64, "failed": pl.Int64}
    if hourly.is_empty():
        return pl.DataFrame(schema=schema)
    return (
        hourly.with_columns(pl.col("at").dt.convert_time_zone(tz.key).dt.truncate(TRUNCATE[period])
                            .dt.convert_time_zone("UTC").alias("period_start"))
        .group_by("endpoint_id", "period_start")
        .agg(pl.col("kwh").sum(), (pl.col("good") > 0).sum().cast(pl.Int64).alias("hours_read"),
             pl.col("failed").sum().cast(pl.Int64))
        .sort("endpoint_id", "period_start")
        .select(ENERGY_COLUMNS)
    )


def stack_energy(energy: pl.DataFrame, endpoints: pl.DataFrame, by: str) -> pl.DataFrame:
    """Energy per period summed per ``by`` (endpoint_id, feed or client), for stacked bars: group, period_start, kwh."""
    if by == "endpoint_id":
        grouped = energy.with_columns(pl.col("endpoint_id").alias("group"))
    else:
        labels = endpoints.select("endpoint_id", pl.col(by).cast(pl.String).fill_null("(none)").alias("group"))
        grouped = energy.join(labels, on="endpoint_id", how="left").with_columns(pl.col("group").fill_null("(none)"))
    return (grouped.group_by("group", "period_start").agg(pl.col("kwh").sum())
            .sort("group", "period_start").select("group", "period_start", "kwh"))


def power_series(engine: Any, endpoint_ids: list[str], start: datetime, end: datetime,
                 client: str | None = None) -> pl.DataFrame:
    """kW over [start, end) per endpoint (of ``client`` only, when given): at, kw, source ("meter", "derived",
    or "hourly" past a month)."""
    schema: dict[str, Any] = {"endpoint_id": pl.String, "at": pl.Datetime("us", "UTC"), "kw": pl.Float64,
                              "source": pl.String}
    if end - start > RAW_POWER_LIMIT:
        hourly = history_rollup(engine, endpoint_ids, start, end, bucket="hour", client=client)
        return hourly.select("endpoint_id", "at", pl.coalesce("avg_kw", pl.col("kwh")).alias("kw"),
                             pl.lit("hourly").alias("source")).cast(schema)  # type: ignore[arg-type]
    readings = history(engine, endpoint_ids, start, end, client=client)
    if readings.is_empty():
        return pl.DataFrame(schema=schema)
    # derived: the average since the newest good reading at least DERIVE_POWER_OVER_S earlier, as Live does
    earlier = (readings.filter(pl.col("corrected_kwh").is_not_null())
               .select("endpoint_id", pl.col("read_at").alias("before_at"), pl.col("corrected_kwh").alias("before_kwh"))
               .sort("before_at"))
    readings = (readings.sort("read_at")
                .with_columns((pl.col("read_at") - pl.duration(seconds=DERIVE_POWER_OVER_S)).alias("window_at"))
                .join_asof(earlier, left_on="window_at", right_on="before_at", by="endpoint_id", strategy="backward",
                           check_sortedness=False))  # both sorted by time just above
    seconds = (pl.col("read_at") - pl.col("before_at")).dt.total_seconds()
    rise = pl.col("corrected_kwh") - pl.col("before_kwh")
    derived = pl.when((seconds > 0) & (seconds <= DERIVE_POWER_WITHIN_S)).then(rise * 3600.0 / seconds)
    return (
        readings.with_columns(
            pl.when(pl.col("power_w").is_not_null()).then(pl.col("power_w") / 1000.0).otherwise(derived).alias("kw"),
            pl.when(pl.col("power_w").is_not_null()).then(pl.lit("meter")).otherwise(pl.lit("derived"))
            .alias("source"),
        )
        .filter(pl.col("kw").is_not_null())
        .select("endpoint_id", pl.col("read_at").alias("at"), "kw", "source")
        .sort("endpoint_id", "at")
    )
