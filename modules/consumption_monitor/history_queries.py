"""Energy over long ranges from the Parquet archive plus the recent database, through DuckDB.

Archived months (their manifests give exact UTC bounds) are read from Parquet; every stretch of the
range no archived month covers comes from the hourly rollup in the database, so a reading is never
counted twice at the seam, whether or not archived months were removed from the database. DuckDB
folds both into one row per endpoint and *unit* (a local day, or an hour for hourly buckets): first
and last usable counter, good and failed counts, power, and the hours read (a bit per hour of the
unit). Polars then merges units into periods; a period's energy is its last usable counter minus
the last one before it (the rollup's hours telescope to that), so the figures equal
``history_rollup`` and ``energy_per_period`` for the same range. Times given to DuckDB are naive UTC
(no time-zone support needed): each UTC hour's unit comes from a small table computed with Polars.
Where the zone's offset is not whole hours (India), a month's edge splits a UTC hour: energy stays
exact, but that hour may count twice in ``hours_read``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import BigInteger, Engine, and_, cast, extract, false, or_, select

from .archive_layout import MonthArchive, archived_months, hours_file, month_file
from .tables import endpoint, reading, reading_hourly

BUCKETS = ("hour", "day", "week", "month")
"""Periods both functions accept (History calls them buckets, Energy periods)."""
TRUNCATE = {"hour": "1h", "day": "1d", "week": "1w", "month": "1mo"}
HISTORY_COLUMNS = ["endpoint_id", "at", "kwh", "avg_kw", "max_kw", "good", "failed"]
ENERGY_COLUMNS = ["endpoint_id", "period_start", "kwh", "hours_read", "failed"]
BATCH_ROWS = 40_000_000
"""Archived rows read by one DuckDB query at most (about a year of 1,000 endpoints every 15 minutes):
bounds the units held in memory."""
HOUR = timedelta(hours=1)
_NAIVE = pl.Datetime("us")
DAILY_SCHEMA = pl.Schema({
    "endpoint_id": pl.String, "day": pl.Date, "kwh": pl.Float64, "readings": pl.Int64, "source": pl.String})
PARTIAL_SCHEMA: dict[str, Any] = {
    "endpoint_id": pl.String, "unit": _NAIVE, "first_at": _NAIVE, "first_kwh": pl.Float64,
    "last_at": _NAIVE, "last_kwh": pl.Float64, "hours_read": pl.Int64, "good": pl.Int64, "failed": pl.Int64,
    "power_sum_w": pl.Float64, "power_n": pl.Int64, "power_max_w": pl.Float64, "source": pl.String}
_USABLE = "FILTER (WHERE corrected_kwh IS NOT NULL)"
_FOLD_READINGS = f"""
           min(r.read_at) {_USABLE} AS first_at, arg_min(r.corrected_kwh, r.read_at) {_USABLE} AS first_kwh,
           max(r.read_at) {_USABLE} AS last_at, arg_max(r.corrected_kwh, r.read_at) {_USABLE} AS last_kwh,
           count(r.corrected_kwh) AS good, count(*) - count(r.corrected_kwh) AS failed,
           coalesce(sum(r.power_w) {_USABLE}, 0) AS power_sum_w, count(r.power_w) {_USABLE} AS power_n,
           max(r.power_w) {_USABLE} AS power_max_w"""
"""Readings folded as ``rollup.Bucket`` folds them: first and last usable reading, counts, power of usable ones."""
_UNITS_OF_READINGS = f"""
    SELECT r.endpoint_id, u.unit, '{{label}}' AS source, {_FOLD_READINGS},
           coalesce(bit_count(bit_or(1::BIGINT << u.hour_index) {_USABLE}), 0) AS hours_read
    FROM {{source}} r JOIN units u ON u.hour = date_trunc('hour', r.read_at) WHERE {{where}} GROUP BY ALL"""
HOURS_OF_READINGS = f"""
    SELECT r.endpoint_id, date_trunc('hour', r.read_at) AS hour, {_FOLD_READINGS}
    FROM {{source}} r GROUP BY ALL ORDER BY r.endpoint_id, hour"""
"""The hourly rollup's rows from readings (``{source}``: a table of endpoint_id, read_at, corrected_kwh, power_w)."""
_UNITS_OF_HOURS = """
    SELECT h.endpoint_id, u.unit, '{label}' AS source,
           min(h.first_at) AS first_at, arg_min(h.first_kwh, h.first_at) AS first_kwh,
           max(h.last_at) AS last_at, arg_max(h.last_kwh, h.last_at) AS last_kwh,
           count(*) FILTER (WHERE h.good > 0) AS hours_read, sum(h.good) AS good, sum(h.failed) AS failed,
           sum(h.power_sum_w) AS power_sum_w, sum(h.power_n) AS power_n, max(h.power_max_w) AS power_max_w
    FROM {source} h JOIN units u ON u.hour = h.hour WHERE {where} GROUP BY ALL"""


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def not_archived(start: datetime, end: datetime, months: dict[str, MonthArchive]) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, end) no archived month covers (read from the database)."""
    spans, cursor = [], start
    for item in sorted(months.values(), key=lambda m: m.start):
        s, e = datetime.fromisoformat(item.start), datetime.fromisoformat(item.end)
        if e <= cursor or s >= end:
            continue
        if s > cursor:
            spans.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        spans.append((cursor, end))
    return spans


def _hour_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The UTC hours the rollup path reads for [start, end): from start's hour up to the hour holding end."""
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return first, last + HOUR if last < end.astimezone(UTC) else last


_DUCKDB: list[duckdb.DuckDBPyConnection] = []


def duckdb_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of the process's one in-memory DuckDB (opening one costs about 0.1 s, a cursor nothing),
    with its own registrations."""
    if not _DUCKDB:
        _DUCKDB.append(duckdb.connect())
    return _DUCKDB[0].cursor()


def _zone(tz: tzinfo) -> str:
    return getattr(tz, "key", "UTC")


@functools.lru_cache(maxsize=16)
def units_of_hours(first: datetime, stop: datetime, unit: str | None, tz: tzinfo) -> pl.DataFrame:
    """Each UTC hour in [first, stop), the start of its unit (UTC, naive) and its index in the unit: the hour
    itself (``unit`` None), or the hour in ``tz`` truncated to ``unit`` ("1h", "1d") as the rollup path does.

    Kept for the last few ranges asked (a page's reruns ask the same one): a year is 8,760 time-zone
    conversions, a tenth of a client's year through DuckDB. Callers only read the frame."""
    hours = pl.DataFrame(pl.datetime_range(first, stop, "1h", closed="left", time_zone="UTC", eager=True)
                         .alias("hour"))
    starts = pl.col("hour")
    if unit is not None:
        starts = starts.dt.convert_time_zone(_zone(tz)).dt.truncate(unit).dt.convert_time_zone("UTC")
    return hours.with_columns(starts.alias("unit")).select(
        pl.col("hour").dt.replace_time_zone(None), pl.col("unit").dt.replace_time_zone(None),
        (pl.col("hour") - pl.col("unit")).dt.total_hours().cast(pl.Int32).alias("hour_index"))


def scoped_ids(engine: Engine, endpoint_ids: Sequence[str], client: str | None) -> list[str]:
    """``endpoint_ids`` narrowed to ``client``'s endpoints (the endpoint's current client) when given."""
    if client is None:
        return list(endpoint_ids)
    with engine.connect() as conn:
        own = set(conn.execute(select(endpoint.c.id).where(endpoint.c.client == client)).scalars())
    return [item for item in endpoint_ids if item in own]


def _batches(items: list[MonthArchive], budget: int) -> Iterator[list[MonthArchive]]:
    """Months in runs of at most ``budget`` rows read (the hourly file where there is one)."""
    batch: list[MonthArchive] = []
    rows = 0
    for item in items:
        size = item.hours_rows if item.hours_sha256 else item.rows
        if batch and rows + size > budget:
            yield batch
            batch, rows = [], 0
        batch.append(item)
        rows += size
    if batch:
        yield batch


def _in_list(endpoint_ids: Sequence[str]) -> str:
    """SQL literals (so DuckDB prunes Parquet row groups on the endpoint_id statistics)."""
    return ", ".join("'" + item.replace("'", "''") + "'" for item in endpoint_ids)


def _recent_rows(engine: Engine, endpoint_ids: Sequence[str], spans: list[tuple[datetime, datetime]],
                 rollup: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The database's part over ``spans`` (naive UTC): rollup hours where a span starts and ends on the hour
    (always, in whole-hour time zones), and the readings themselves for the other spans (for all of them
    without ``rollup``)."""
    h, r = reading_hourly.c, reading.c
    aligned = [(s, e) for s, e in spans if rollup and s.minute == s.second == s.microsecond == e.minute == e.second
               == e.microsecond == 0]
    ragged = [span for span in spans if span not in aligned]
    with engine.connect() as conn:
        epoch = cast(extract("epoch", h.hour), BigInteger)  # the hour as a number: no datetime object per row
        in_spans = or_(false(), *(and_(h.hour >= s, h.hour < e) for s, e in aligned))
        hourly = conn.execute(select(
            h.endpoint_id, epoch, h.first_kwh, h.last_kwh, h.good, h.failed, h.power_sum_w, h.power_n, h.power_max_w
        ).where(h.endpoint_id.in_(list(endpoint_ids)), in_spans)).fetchall() if aligned else []
        readings = conn.execute(select(r.endpoint_id, r.read_at, r.corrected_kwh, r.power_w).where(
            r.endpoint_id.in_(list(endpoint_ids)), or_(false(), *(and_(r.read_at >= s, r.read_at < e)
                                                                   for s, e in ragged))
        )).fetchall() if ragged else []
    aware = pl.Datetime("us", "UTC")
    hours = pl.DataFrame(hourly, orient="row", schema={
        "endpoint_id": pl.String, "hour": pl.Int64, "first_kwh": pl.Float64, "last_kwh": pl.Float64, "good": pl.Int64,
        "failed": pl.Int64, "power_sum_w": pl.Float64, "power_n": pl.Int64, "power_max_w": pl.Float64})
    raw = pl.DataFrame(readings, orient="row", schema={"endpoint_id": pl.String, "read_at": aware,
                                                       "corrected_kwh": pl.Float64, "power_w": pl.Float64})
    hours = hours.with_columns(pl.from_epoch("hour", "s"))
    # a rollup hour stands for its readings' times: the spans read from the rollup share no hour with the
    # archive, so the order of units across sources holds
    return (hours.with_columns(first_at=pl.col("hour"), last_at=pl.col("hour")),
            raw.with_columns(pl.col("read_at").dt.replace_time_zone(None)))


def _partials(root: Path, months: list[MonthArchive], recent: tuple[pl.DataFrame, pl.DataFrame],
              endpoint_ids: Sequence[str], first: datetime, stop: datetime, units: pl.DataFrame,
              seed_month: MonthArchive | None) -> list[pl.DataFrame]:
    """Per endpoint, unit and source, the figures folded by DuckDB: archived months a year or so per query,
    the database's part (``recent``: rollup hours, readings) and the last usable counter before ``first``
    in ``seed_month``'s hourly file (rows of source "seed") in the first one."""
    found = []
    con = duckdb_cursor()
    try:
        con.register("units", units.to_arrow())
        con.register("rollup", recent[0].to_arrow())
        con.register("recent", recent[1].to_arrow())
        database = [_UNITS_OF_HOURS.format(source="rollup", where="true", label="database"),
                    _UNITS_OF_READINGS.format(source="recent", where="true", label="database")]
        ids = f"endpoint_id IN ({_in_list(endpoint_ids)})"
        for index, batch in enumerate(list(_batches(months, BATCH_ROWS)) or [[]]):
            parts = list(database) if index == 0 else []
            params: dict[str, Any] = {"first": _naive_utc(first), "stop": _naive_utc(stop)}
            hourly = [str(hours_file(root, item.month)) for item in batch if item.hours_sha256]
            if hourly:
                parts.append(_UNITS_OF_HOURS.format(
                    source="read_parquet($hourly)", label="archive",
                    where=f"h.{ids} AND h.hour >= $first AND h.hour < $stop"))
                params["hourly"] = hourly
            readings = [str(month_file(root, item.month)) for item in batch if not item.hours_sha256]
            if readings:
                parts.append(_UNITS_OF_READINGS.format(
                    source="read_parquet($readings)", label="archive",
                    where=f"r.{ids} AND r.read_at >= $first AND r.read_at < $stop"))
                params["readings"] = readings
            if index == 0 and seed_month is not None:
                parts.append(f"SELECT endpoint_id, 'seed' AS source, max(hour) AS last_at, arg_max(last_kwh, hour) "
                             f"AS last_kwh FROM read_parquet($seed) WHERE {ids} AND last_kwh IS NOT NULL "
                             "AND hour < $first GROUP BY endpoint_id")
                params["seed"] = str(hours_file(root, seed_month.month))
            if index == 0 and not batch:
                params = {}
            sql = " UNION ALL BY NAME ".join(f"({part})" for part in parts)
            found.append(pl.DataFrame(pl.from_arrow(con.sql(sql, params=params).to_arrow_table())))
    finally:
        con.close()
    return found


def _seeds(engine: Engine, root: Path, months: list[MonthArchive], endpoint_ids: Sequence[str], first: datetime,
           archived: pl.DataFrame, rollup: bool = True) -> pl.DataFrame:
    """The last usable counter before ``first`` per endpoint: from the rollup (as the rollup path), else
    from the archive: ``archived`` (found with the partials in the newest month before ``first``), then
    the older months, newest first, only as far back as needed."""
    h, r = reading_hourly.c, reading.c
    last_kwh = (select(h.last_kwh).where(h.endpoint_id == endpoint.c.id, h.hour < first, h.last_kwh.is_not(None))
                .order_by(h.hour.desc()) if rollup else
                select(r.corrected_kwh).where(r.endpoint_id == endpoint.c.id, r.read_at < first,
                                              r.corrected_kwh.is_not(None)).order_by(r.read_at.desc())
                ).limit(1).scalar_subquery().correlate(endpoint)
    with engine.connect() as conn:  # one index probe per endpoint
        seeds = {str(k): float(v) for k, v in conn.execute(
            select(endpoint.c.id, last_kwh).where(endpoint.c.id.in_(list(endpoint_ids)))) if v is not None}
    for endpoint_id, kwh in archived.select("endpoint_id", "last_kwh").iter_rows():
        seeds.setdefault(endpoint_id, kwh)
    missing = [item for item in endpoint_ids if item not in seeds]
    con = duckdb_cursor() if missing and months else None
    try:
        for item in months:
            if not missing or con is None:
                break
            kwh, at, path = (("last_kwh", "hour", hours_file(root, item.month)) if item.hours_sha256
                             else ("corrected_kwh", "read_at", month_file(root, item.month)))
            sql = (f"SELECT endpoint_id, arg_max({kwh}, {at}) FROM read_parquet($file) "
                   f"WHERE endpoint_id IN ({_in_list(missing)}) AND {kwh} IS NOT NULL AND {at} < $first "
                   "GROUP BY endpoint_id")
            found = con.sql(sql, params={"file": str(path), "first": _naive_utc(first)}).fetchall()
            seeds.update({str(k): float(v) for k, v in found})
            missing = [m for m in missing if m not in seeds]
    finally:
        if con is not None:
            con.close()
    return pl.DataFrame(list(seeds.items()), schema={"endpoint_id": pl.String, "seed_kwh": pl.Float64},
                        orient="row")


def _periods(engine: Engine, root: Path, endpoint_ids: Sequence[str], start: datetime, end: datetime,
             bucket: str, tz: tzinfo, local_hours: bool = False, rollup: bool = True) -> pl.DataFrame:
    """One row per endpoint and period with readings: the merged figures and ``kwh`` (None when the period
    has no usable reading), from the archive and the database (its rollup, or its readings) without overlap."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket is one of {BUCKETS}, not {bucket!r}")
    first, stop = _hour_span(start, end)
    months = archived_months(root)
    covering = sorted((m for m in months.values() if m.rows and datetime.fromisoformat(m.end) > first
                       and datetime.fromisoformat(m.start) < stop), key=lambda m: m.start)
    unit = ("1h" if local_hours else None) if bucket == "hour" else "1d"
    before = sorted((m for m in months.values() if m.rows and datetime.fromisoformat(m.start) < first),
                    key=lambda m: m.start, reverse=True)
    # the newest month before the range is searched for seeds with the first query (when it has hours)
    seed_month = before[0] if before and before[0].hours_sha256 and covering else None
    parts = [pl.DataFrame(schema=PARTIAL_SCHEMA)]
    if endpoint_ids:
        recent = _recent_rows(engine, endpoint_ids, not_archived(first, stop, months), rollup)
        units = units_of_hours(first, stop, unit, tz)
        parts += _partials(root, covering, recent, endpoint_ids, first, stop, units, seed_month)
    found = pl.concat([p.select(list(PARTIAL_SCHEMA)).cast(PARTIAL_SCHEMA) for p in parts])  # type: ignore[arg-type]
    partials, archived_seeds = found.filter(pl.col("source") != "seed"), found.filter(pl.col("source") == "seed")
    period = pl.col("unit")
    if bucket in ("week", "month"):
        period = (period.dt.replace_time_zone("UTC").dt.convert_time_zone(_zone(tz)).dt.truncate(TRUNCATE[bucket])
                  .dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    partials = partials.with_columns(period.alias("period_start"))
    if partials.is_empty():
        return partials.with_columns(pl.lit(None, pl.Float64).alias("kwh"))
    seeds = _seeds(engine, root, before[1:] if seed_month else before, endpoint_ids, first, archived_seeds, rollup)
    merged = (
        partials.sort("endpoint_id", "period_start", "last_at", nulls_last=False)
        .group_by("endpoint_id", "period_start", maintain_order=True)
        .agg(pl.col("first_kwh").filter(pl.col("first_at") == pl.col("first_at").min()).first(),
             pl.col("last_kwh").drop_nulls().last(),
             pl.col("hours_read").sum(), pl.col("good").sum(), pl.col("failed").sum(), pl.col("power_sum_w").sum(),
             pl.col("power_n").sum(), pl.col("power_max_w").max(),
             pl.when(pl.col("source").n_unique() == 1).then(pl.col("source").first()).otherwise(pl.lit("both"))
             .alias("source"))
        .join(seeds, on="endpoint_id", how="left")
        .with_columns(pl.col("last_kwh").shift(1).forward_fill().over("endpoint_id").alias("previous_kwh"))
    )
    return merged.with_columns(
        (pl.col("last_kwh") - pl.coalesce("previous_kwh", "seed_kwh", "first_kwh")).alias("kwh"),
        pl.col("period_start").dt.replace_time_zone("UTC"))


def history_energy(engine: Engine, endpoint_ids: list[str], start: datetime, end: datetime, bucket: str = "day",
                   tz: tzinfo = UTC, client: str | None = None, *, archive: Path) -> pl.DataFrame:
    """``history_rollup``'s frame (endpoint_id, at, kwh, avg_kw, max_kw, good, failed) over the Parquet
    ``archive`` plus the database: what History draws for long ranges. Buckets: hour, day, week, month."""
    merged = _periods(engine, archive, scoped_ids(engine, endpoint_ids, client), start, end, bucket, tz)
    kwh = pl.col("kwh") if bucket == "hour" else pl.col("kwh").fill_null(0.0)  # a failed-only day sums to 0
    return merged.select(
        "endpoint_id", pl.col("period_start").alias("at"), kwh,
        pl.when(pl.col("power_n") > 0).then(pl.col("power_sum_w") / pl.col("power_n") / 1000).alias("avg_kw"),
        (pl.col("power_max_w") / 1000).alias("max_kw"), "good", "failed",
    ).cast({"good": pl.Int64, "failed": pl.Int64}).sort("endpoint_id", "at")


def energy_per_period_archived(engine: Engine, endpoint_ids: list[str], start: datetime, end: datetime,
                               period: str, tz: tzinfo, client: str | None = None, *, archive: Path
                               ) -> pl.DataFrame:
    """``energy_per_period``'s frame (endpoint_id, period_start, kwh, hours_read, failed) over the Parquet
    ``archive`` plus the database: what the Energy view draws for long ranges."""
    merged = _periods(engine, archive, scoped_ids(engine, endpoint_ids, client), start, end, period, tz,
                      local_hours=True)  # as energy_per_period: local hours (they differ in half-hour zones)
    return merged.select("endpoint_id", "period_start", pl.col("kwh").fill_null(0.0), "hours_read", "failed").cast(
        {"hours_read": pl.Int64, "failed": pl.Int64}).sort("endpoint_id", "period_start")


def touches_archive(archive: Path, start: datetime, end: datetime) -> bool:
    """Whether [start, end) overlaps an archived month (then the DuckDB path is the one that has it all)."""
    return any(item.rows and datetime.fromisoformat(item.start) < end and datetime.fromisoformat(item.end) > start
               for item in archived_months(archive).values())


def energy_per_day(engine: Engine, root: Path, endpoint_ids: Sequence[str], start: date, end: date,
                   tz: tzinfo) -> pl.DataFrame:
    """Energy per endpoint per local day in [start, end] with usable readings, over the archive plus the
    database's readings (not its rollup: readings loaded straight in count too): endpoint_id, day, kwh,
    readings (usable), source (archive, database or both)."""
    if not endpoint_ids or end < start:
        return pl.DataFrame(schema=DAILY_SCHEMA)
    first = datetime.combine(start, time(0), tzinfo=tz)
    after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)
    merged = _periods(engine, root, endpoint_ids, first, after, "day", tz, rollup=False).filter(pl.col("good") > 0)
    return merged.select(
        "endpoint_id", pl.col("period_start").dt.convert_time_zone(_zone(tz)).dt.date().alias("day"), "kwh",
        pl.col("good").alias("readings"), "source").cast(DAILY_SCHEMA).sort("endpoint_id", "day")


def energy_per_month(engine: Engine, root: Path, endpoint_ids: Sequence[str], start: date, end: date,
                     tz: tzinfo) -> pl.DataFrame:
    """``energy_per_day`` summed per endpoint and local month (first day of the month in ``month``)."""
    daily = energy_per_day(engine, root, endpoint_ids, start, end, tz)
    return (daily.group_by("endpoint_id", pl.col("day").dt.truncate("1mo").alias("month"))
            .agg(pl.col("kwh").sum(), pl.col("readings").sum()).sort("endpoint_id", "month"))


def events_with_archive(engine: Engine, endpoint_ids: list[str], start: datetime, end: datetime,
                        client: str | None = None, *, archive: Path) -> pl.DataFrame:
    """``event_readings``' frame (endpoint_id, read_at, event) with archived months read from Parquet, so
    History still marks resets and swaps of months removed from the database."""
    ids = scoped_ids(engine, endpoint_ids, client)
    schema: dict[str, Any] = {"endpoint_id": pl.String, "read_at": pl.Datetime("us", "UTC"), "event": pl.String}
    months = archived_months(archive)
    files = [str(month_file(archive, m.month)) for m in months.values() if m.rows
             and datetime.fromisoformat(m.end) > start and datetime.fromisoformat(m.start) < end]
    r = reading.c
    spans = not_archived(start, end, months)
    with engine.connect() as conn:
        rows = conn.execute(select(r.endpoint_id, r.read_at, r.event).where(
            r.endpoint_id.in_(ids), r.event.is_not(None),
            or_(false(), *(and_(r.read_at >= s, r.read_at < e) for s, e in spans)))).fetchall() if ids else []
    found = [pl.DataFrame(rows, schema=schema, orient="row")]
    if files and ids:
        con = duckdb_cursor()
        try:
            archived = con.sql(f"SELECT endpoint_id, read_at, event FROM read_parquet($files) WHERE endpoint_id IN "
                               f"({_in_list(ids)}) AND event IS NOT NULL AND read_at >= $start AND read_at < $end",
                               params={"files": files, "start": _naive_utc(start), "end": _naive_utc(end)})
            found.append(pl.DataFrame(pl.from_arrow(archived.to_arrow_table()))
                         .with_columns(pl.col("read_at").dt.replace_time_zone("UTC")).cast(schema))  # type: ignore[arg-type]
        finally:
            con.close()
    return pl.concat(found).sort("endpoint_id", "read_at")
