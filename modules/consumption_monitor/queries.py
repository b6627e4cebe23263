"""Query functions for the Live and History pages: plain functions returning Polars frames (tests call them).

Each takes ``client``: a client user's scope (``ctx.client``), applied in the SQL, so a page that
passes it can show nothing of another client's endpoints whatever ids it asks for; None = every
client. The scope is the endpoint's current client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import polars as pl
from sqlalchemy import Engine, Select, and_, func, select

from .tables import endpoint, reading, reading_hourly

LIVE_COLUMNS = ["endpoint_id", "name", "client", "location", "feed", "type", "vendor", "enabled", "retired",
                "status", "last_attempt_at", "last_success_at", "next_due_at", "raw_kwh", "corrected_kwh",
                "power_w", "power_source", "circuit_max_kw", "last_error_class", "last_error", "evidence_path"]
DERIVE_POWER_WITHIN_S = 86400.0
"""Power is derived from two good readings only when they are at most this far apart."""
DERIVE_POWER_OVER_S = 900.0
"""Derived power is the average over at least this long (a demand interval): a counter shown to 0.05 kWh
rises by whole steps, so over one minute it reads 0 or 3 kW, never the 1.5 kW drawn."""


def client_endpoints(client: str) -> Select[Any]:
    """The ids of ``client``'s endpoints, as the subquery every scoped query filters readings on."""
    return select(endpoint.c.id).where(endpoint.c.client == client)


def client_endpoint_ids(engine: Engine, client: str) -> list[str]:
    """The ids of ``client``'s endpoints, for narrowing a frame computed for every endpoint."""
    with engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(client_endpoints(client).order_by(endpoint.c.id))]


def derived_power_w(kwh_before: float | None, at_before: datetime | None, kwh_after: float | None,
                    at_after: datetime | None) -> float | None:
    """Average power (W) between two corrected-counter readings; None when they cannot say."""
    if None in (kwh_before, at_before, kwh_after, at_after):
        return None
    seconds = (at_after - at_before).total_seconds()  # type: ignore[operator]
    if seconds <= 0 or seconds > DERIVE_POWER_WITHIN_S:
        return None
    return (kwh_after - kwh_before) * 3_600_000.0 / seconds  # type: ignore[operator]


def _seconds(engine: Engine, column: Any) -> Any:
    """A stored time as seconds, for arithmetic in SQL on both dialects (SQLite keeps ISO text)."""
    if engine.dialect.name == "sqlite":
        return func.julianday(column) * 86400.0
    return func.extract("epoch", column)


def live_status(engine: Engine, now: datetime, max_stale_s: float, include_retired: bool = False,
                client: str | None = None) -> pl.DataFrame:
    """One row per endpoint (of ``client`` only, when given): status ok|failing|stale|never|disabled|retired,
    last values and last error.

    ``power_w`` is the meter's own reading where it gives one (``power_source`` "meter"), else the
    average since the newest good reading at least ``DERIVE_POWER_OVER_S`` before (``"derived"``):
    most presets read only the counter.
    """
    last = reading.alias("last")
    latest_id = (select(reading.c.id).where(reading.c.endpoint_id == endpoint.c.id)
                 .order_by(reading.c.read_at.desc()).limit(1).scalar_subquery().correlate(endpoint))
    good_id = (select(reading.c.id).where(reading.c.endpoint_id == endpoint.c.id, reading.c.corrected_kwh.is_not(None))
               .order_by(reading.c.read_at.desc()).limit(1).scalar_subquery().correlate(endpoint))
    good = reading.alias("good")
    # the newest good reading at least DERIVE_POWER_OVER_S before the last good one: walked back through
    # the endpoint's index a few rows at most
    before_id = (select(reading.c.id).where(reading.c.endpoint_id == endpoint.c.id,
                                            reading.c.corrected_kwh.is_not(None),
                                            _seconds(engine, reading.c.read_at)
                                            <= _seconds(engine, good.c.read_at) - DERIVE_POWER_OVER_S)
                 .order_by(reading.c.read_at.desc()).limit(1).scalar_subquery().correlate(endpoint, good))
    before = reading.alias("before")
    query = (
        select(endpoint.c.id.label("endpoint_id"), endpoint.c.name, endpoint.c.client, endpoint.c.location,
               endpoint.c.feed, endpoint.c.type, endpoint.c.vendor, endpoint.c.enabled, endpoint.c.retired_at,
               endpoint.c.circuit_max_kw, before.c.corrected_kwh.label("before_kwh"),
               before.c.read_at.label("before_at"),
               endpoint.c.last_attempt_at, endpoint.c.last_success_at, endpoint.c.next_due_at,
               good.c.raw_kwh, good.c.corrected_kwh, good.c.power_w, good.c.read_at.label("last_good_at"),
               last.c.id.label("last_id"), last.c.success.label("last_ok"),
               last.c.error_class.label("last_error_class"), last.c.error_message.label("last_error"),
               last.c.evidence_path)
        .select_from(endpoint.outerjoin(last, last.c.id == latest_id).outerjoin(good, good.c.id == good_id)
                     .outerjoin(before, before.c.id == before_id))
        .order_by(endpoint.c.id)
    )
    if not include_retired:
        query = query.where(endpoint.c.retired_at.is_(None))
    if client is not None:
        query = query.where(endpoint.c.client == client)
    with engine.connect() as conn:
        rows = [row._asdict() for row in conn.execute(query)]
    stale_before = now - timedelta(seconds=max_stale_s)
    for row in rows:
        row["retired"] = row.pop("retired_at") is not None
        if row["retired"]:
            row["status"] = "retired"
        elif not row["enabled"]:
            row["status"] = "disabled"
        elif row["last_id"] is None:
            row["status"] = "never"
        elif not row["last_ok"]:
            row["status"] = "failing"
        elif row["last_good_at"] is None or row["last_good_at"] < stale_before:
            row["status"] = "stale"
        else:
            row["status"] = "ok"
        row["power_source"] = "meter" if row["power_w"] is not None else None
        if row["power_w"] is None:
            row["power_w"] = derived_power_w(row["before_kwh"], row["before_at"], row["corrected_kwh"],
                                             row["last_good_at"])
            row["power_source"] = "derived" if row["power_w"] is not None else None
        for helper in ("last_ok", "last_id", "last_good_at", "before_kwh", "before_at"):
            row.pop(helper, None)
        if row["status"] in ("ok", "stale"):
            row["last_error_class"] = row["last_error"] = None
    return pl.DataFrame(rows, schema_overrides={"last_attempt_at": pl.Datetime("us", "UTC"),
                                                "power_w": pl.Float64, "circuit_max_kw": pl.Float64,
                                                "power_source": pl.String,
                                                "last_success_at": pl.Datetime("us", "UTC"),
                                                "next_due_at": pl.Datetime("us", "UTC")},
                        infer_schema_length=None).select(LIVE_COLUMNS) if rows else pl.DataFrame(
        schema={c: pl.Float64 if c in ("raw_kwh", "corrected_kwh", "power_w", "circuit_max_kw") else pl.String
                for c in LIVE_COLUMNS})


def history(engine: Engine, endpoint_ids: list[str], start: datetime, end: datetime,
            include_failed: bool = False, client: str | None = None) -> pl.DataFrame:
    """Readings of some endpoints (of ``client`` only, when given) in [start, end): read_at, corrected and raw
    kWh, power, event, errors."""
    query = (
        select(reading.c.endpoint_id, reading.c.read_at, reading.c.success, reading.c.raw_kwh,
               reading.c.corrected_kwh, reading.c.power_w, reading.c.voltage_v, reading.c.event,
               reading.c.error_class, reading.c.error_message)
        .where(reading.c.endpoint_id.in_(endpoint_ids), and_(reading.c.read_at >= start, reading.c.read_at < end))
        .order_by(reading.c.endpoint_id, reading.c.read_at)
    )
    if not include_failed:
        query = query.where(reading.c.success.is_(True))
    if client is not None:
        query = query.where(reading.c.endpoint_id.in_(client_endpoints(client)))
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(query)]
    schema: dict[str, Any] = {"endpoint_id": pl.String, "read_at": pl.Datetime("us", "UTC"), "success": pl.Boolean,
              "raw_kwh": pl.Float64, "corrected_kwh": pl.Float64, "power_w": pl.Float64, "voltage_v": pl.Float64,
              "event": pl.String, "error_class": pl.String, "error_message": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def event_readings(engine: Engine, endpoint_ids: list[str], start: datetime, end: datetime,
                   client: str | None = None) -> pl.DataFrame:
    """Readings in [start, end) that carry an event (reset, rollover, swap, implausible): few, so cheap
    to fetch beside the rollup when a long range is charted from it. ``client``: its endpoints only."""
    query = (
        select(reading.c.endpoint_id, reading.c.read_at, reading.c.event)
        .where(reading.c.endpoint_id.in_(endpoint_ids), reading.c.read_at >= start, reading.c.read_at < end,
               reading.c.event.is_not(None))
        .order_by(reading.c.endpoint_id, reading.c.read_at)
    )
    if client is not None:
        query = query.where(reading.c.endpoint_id.in_(client_endpoints(client)))
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(query)]
    schema: dict[str, Any] = {"endpoint_id": pl.String, "read_at": pl.Datetime("us", "UTC"), "event": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


ROLLUP_COLUMNS = ["endpoint_id", "at", "kwh", "avg_kw", "max_kw", "good", "failed"]


def history_rollup(engine: Engine, endpoint_ids: list[str], start: datetime, end: datetime, bucket: str = "hour",
                   tz: tzinfo = UTC, client: str | None = None) -> pl.DataFrame:
    """Energy and power per hour (or per day in ``tz``) from the hourly rollup, for long History ranges.

    Columns: endpoint_id, at (bucket start), kwh (the corrected counter's rise since the previous
    bucket with a usable reading, so buckets sum to the exact difference of two readings), avg_kw
    and max_kw (from the meters' power readings), good and failed attempts. One row per hour with
    readings: a year of one endpoint is at most 8,760 rows whatever the poll interval. ``client``:
    its endpoints only.
    """
    if bucket not in ("hour", "day"):
        raise ValueError("bucket is 'hour' or 'day'")
    h = reading_hourly.c
    first_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    query = (select(h.endpoint_id, h.hour, h.first_kwh, h.last_kwh, h.good, h.failed, h.power_sum_w, h.power_n,
                    h.power_max_w)
             .where(h.endpoint_id.in_(endpoint_ids), h.hour >= first_hour, h.hour < end)
             .order_by(h.endpoint_id, h.hour))
    older = reading_hourly.alias("older")
    seed_hour = (select(func.max(older.c.hour)).where(older.c.endpoint_id == h.endpoint_id, older.c.hour < first_hour,
                                                      older.c.last_kwh.is_not(None))
                 .scalar_subquery().correlate(reading_hourly))
    seeds_query = select(h.endpoint_id, h.last_kwh).where(h.endpoint_id.in_(endpoint_ids), h.hour == seed_hour)
    if client is not None:
        query = query.where(h.endpoint_id.in_(client_endpoints(client)))
        seeds_query = seeds_query.where(h.endpoint_id.in_(client_endpoints(client)))
    with engine.connect() as conn:
        rows = conn.execute(query).fetchall()
        seeds = dict(conn.execute(seeds_query).fetchall())
    schema: dict[str, Any] = {"endpoint_id": pl.String, "at": pl.Datetime("us", "UTC"), "first_kwh": pl.Float64,
                              "last_kwh": pl.Float64, "good": pl.Int64, "failed": pl.Int64, "power_sum_w": pl.Float64,
                              "power_n": pl.Int64, "power_max_w": pl.Float64}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    seed = pl.DataFrame(list(seeds.items()), schema={"endpoint_id": pl.String, "seed_kwh": pl.Float64}, orient="row")
    frame = (
        frame.join(seed, on="endpoint_id", how="left")
        .with_columns(pl.col("last_kwh").shift(1).forward_fill().over("endpoint_id").alias("previous_kwh"))
        .with_columns(
            (pl.col("last_kwh") - pl.coalesce("previous_kwh", "seed_kwh", "first_kwh")).alias("kwh"),
            (pl.col("power_max_w") / 1000).alias("max_kw"),
        )
    )
    if bucket == "day":
        zone = getattr(tz, "key", "UTC")
        frame = (
            frame.with_columns(pl.col("at").dt.convert_time_zone(zone).dt.truncate("1d").alias("at"))
            .group_by("endpoint_id", "at", maintain_order=True).agg(
                pl.col("kwh").sum(), pl.col("good").sum(), pl.col("failed").sum(), pl.col("power_sum_w").sum(),
                pl.col("power_n").sum(), pl.col("max_kw").max())
            .with_columns(pl.col("at").dt.convert_time_zone("UTC"))
        )
    return frame.with_columns(
        pl.when(pl.col("power_n") > 0).then(pl.col("power_sum_w") / pl.col("power_n") / 1000).alias("avg_kw"),
    ).select(ROLLUP_COLUMNS)
