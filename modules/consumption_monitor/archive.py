"""Closed months of readings to Parquet, and DuckDB over the archive plus the recent database rows.

Layout under the module's storage: ``archive/readings/month=YYYY-MM/readings.parquet`` (months of
the billing time zone) beside ``month=YYYY-MM/manifest.json`` (rows, UTC bounds, SHA-256 of the
file). Archiving a month again rewrites the same file (stored once); a month whose file and
manifest agree with the database is skipped. Readings stay in the database unless
``archive_keep_months`` (a setting, 0 = keep) says to remove archived months older than that.

``read_at`` is stored as a naive UTC timestamp so DuckDB needs no time-zone support (no extension):
local days are cut with a table of UTC day bounds computed here in Python.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
from sqlalchemy import Engine, and_, delete, false, func, or_, select

from nxforge.sdk import NxForgeError

from .periods import month_period
from .tables import reading

log = logging.getLogger(__name__)

ARCHIVE_SCHEMA: dict[str, Any] = {
    "endpoint_id": pl.String, "read_at": pl.Datetime("us"), "success": pl.Boolean, "raw_kwh": pl.Float64,
    "corrected_kwh": pl.Float64, "power_w": pl.Float64, "estimated_kwh": pl.Float64, "event": pl.String,
}
DAILY_SCHEMA = pl.Schema({
    "endpoint_id": pl.String, "day": pl.Date, "kwh": pl.Float64, "readings": pl.Int64, "source": pl.String})


class ArchiveError(NxForgeError):
    """An archive file that does not match its manifest or the database."""


@dataclass(frozen=True)
class MonthArchive:
    """What one archived month holds: its file, row count, UTC bounds and checksum."""

    month: str
    rows: int
    start: str
    end: str
    sha256: str
    archived_at: str


@dataclass
class ArchiveReport:
    """What ``archive_months`` did, month by month."""

    written: list[MonthArchive]
    unchanged: list[str]
    pruned: dict[str, int]


def archive_dir(storage: Path) -> Path:
    """The folder holding the month partitions under a module's storage."""
    return storage / "archive" / "readings"


def _month_dir(root: Path, month: str) -> Path:
    return root / f"month={month}"


def archived_months(root: Path) -> dict[str, MonthArchive]:
    """Every month with a manifest, by ``YYYY-MM``."""
    found: dict[str, MonthArchive] = {}
    for manifest in sorted(root.glob("month=*/manifest.json")):
        item = MonthArchive(**json.loads(manifest.read_text(encoding="utf-8")))
        found[item.month] = item
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def _month_frame(engine: Engine, start: datetime, end: datetime) -> pl.DataFrame:
    c = reading.c
    query = (select(c.endpoint_id, c.read_at, c.success, c.raw_kwh, c.corrected_kwh, c.power_w, c.estimated_kwh,
                    c.event)
             .where(c.read_at >= start, c.read_at < end).order_by(c.endpoint_id, c.read_at))
    with engine.connect() as conn:
        rows = [(r[0], _naive_utc(r[1]), *r[2:]) for r in conn.execute(query)]
    return pl.DataFrame(rows, schema=ARCHIVE_SCHEMA, orient="row")


def _db_count(engine: Engine, start: datetime, end: datetime) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reading)
                                .where(reading.c.read_at >= start, reading.c.read_at < end)).scalar_one())


def verify_month(root: Path, item: MonthArchive) -> None:
    """Check the month's file against its manifest: checksum and row count read back."""
    path = _month_dir(root, item.month) / "readings.parquet"
    if not path.exists() or _sha256(path) != item.sha256:
        raise ArchiveError(f"the archive of {item.month} does not match its checksum ({path})",
                           "run `nxforge archive --month " + item.month + " --force` to write it again")
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    if rows != item.rows:
        raise ArchiveError(f"the archive of {item.month} holds {rows} rows, its manifest says {item.rows}",
                           "run `nxforge archive --month " + item.month + " --force` to write it again")


def closed_months(engine: Engine, tz: ZoneInfo, now: datetime) -> list[str]:
    """Months (billing time zone) that are over and hold readings, oldest first."""
    with engine.connect() as conn:
        first = conn.execute(select(func.min(reading.c.read_at))).scalar_one_or_none()
    if first is None:
        return []
    local, current = first.astimezone(tz), now.astimezone(tz)
    year, number, months = local.year, local.month, []
    while (year, number) < (current.year, current.month):
        months.append(f"{year:04d}-{number:02d}")
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return months


def archive_month(engine: Engine, root: Path, month: str, tz: ZoneInfo, now: datetime,
                  force: bool = False) -> MonthArchive | None:
    """Write one closed month to Parquet (replacing any earlier file); None when it was already archived as is."""
    period = month_period(month, tz, now)
    if period.to_date:
        raise ArchiveError(f"{month} is not over yet", "archive only months that have ended")
    known = archived_months(root).get(month)
    if known is not None:
        in_database = _db_count(engine, period.start, period.end)
        if in_database == 0 and known.rows:  # pruned: the archive is now the only copy, never overwrite it
            verify_month(root, known)
            return None
        if not force and known.rows == in_database:
            verify_month(root, known)
            return None
    frame = _month_frame(engine, period.start, period.end)
    folder = _month_dir(root, month)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "readings.parquet.tmp"
    frame.write_parquet(temporary, compression="zstd", statistics=True)
    item = MonthArchive(month, frame.height, period.start.isoformat(), period.end.isoformat(), _sha256(temporary),
                        now.astimezone(UTC).isoformat())
    os.replace(temporary, folder / "readings.parquet")
    manifest = folder / "manifest.json.tmp"
    manifest.write_text(json.dumps(asdict(item), indent=2), encoding="utf-8")
    os.replace(manifest, folder / "manifest.json")
    verify_month(root, item)
    log.info("archived %s: %d readings", month, item.rows)
    return item


def _months_before(month: str, count: int) -> str:
    year, number = int(month[:4]), int(month[5:7]) - count
    while number < 1:
        year, number = year - 1, number + 12
    return f"{year:04d}-{number:02d}"


def prune_month(engine: Engine, root: Path, item: MonthArchive) -> int:
    """Delete an archived, verified month's readings from the database; returns rows deleted."""
    verify_month(root, item)
    start, end = datetime.fromisoformat(item.start), datetime.fromisoformat(item.end)
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(reading)
                        .where(reading.c.read_at >= start, reading.c.read_at < end)).scalar_one() != item.rows:
            raise ArchiveError(f"the database holds readings of {item.month} the archive does not",
                               f"run `nxforge archive --month {item.month} --force` first")
        deleted = conn.execute(delete(reading).where(reading.c.read_at >= start, reading.c.read_at < end)).rowcount
    log.info("pruned %s: %d readings removed from the database (kept in Parquet)", item.month, deleted)
    return int(deleted or 0)


def archive_months(engine: Engine, root: Path, tz: ZoneInfo, now: datetime, months: Sequence[str] | None = None,
                   keep_months: int = 0, force: bool = False) -> ArchiveReport:
    """Archive ``months`` (default every closed month); with ``keep_months`` > 0 remove archived months
    older than that many months before the current one from the database."""
    report = ArchiveReport([], [], {})
    for month in months if months is not None else closed_months(engine, tz, now):
        item = archive_month(engine, root, month, tz, now, force)
        if item is None:
            report.unchanged.append(month)
        else:
            report.written.append(item)
    if keep_months > 0:
        oldest_kept = _months_before(f"{now.astimezone(tz):%Y-%m}", keep_months)
        for month, item in archived_months(root).items():
            if month < oldest_kept and item.rows and _db_count(engine, datetime.fromisoformat(item.start),
                                                               datetime.fromisoformat(item.end)):
                report.pruned[month] = prune_month(engine, root, item)
    return report


# --- DuckDB over the archive and the recent database ---------------------------------------------------


_DUCKDB: list[duckdb.DuckDBPyConnection] = []


def _duckdb() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process (opening one costs about 0.1 s; a cursor costs nothing)."""
    if not _DUCKDB:
        _DUCKDB.append(duckdb.connect())
    return _DUCKDB[0]


def _day_bounds(first: date, last: date, tz: ZoneInfo) -> pl.DataFrame:
    """One row per local day in [first, last]: its UTC start and end (naive), so DuckDB needs no time zones."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    starts = [_naive_utc(datetime(d.year, d.month, d.day, tzinfo=tz)) for d in days]
    after = last + timedelta(days=1)
    ends = [*starts[1:], _naive_utc(datetime(after.year, after.month, after.day, tzinfo=tz))]
    return pl.DataFrame({"day": days, "day_start": starts, "day_end": ends},
                        schema={"day": pl.Date, "day_start": pl.Datetime("us"), "day_end": pl.Datetime("us")})


def _not_archived(start: datetime, end: datetime, months: dict[str, MonthArchive]) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, end) no archived month covers."""
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


def recent_frame(engine: Engine, endpoint_ids: Sequence[str], spans: Sequence[tuple[datetime, datetime]]
                 ) -> pl.DataFrame:
    """Usable readings inside ``spans`` ([start, end) pairs) from the database, for DuckDB."""
    c = reading.c
    query = (select(c.endpoint_id, c.read_at, c.corrected_kwh)
             .where(c.endpoint_id.in_(list(endpoint_ids)), c.corrected_kwh.is_not(None),
                    or_(false(), *(and_(c.read_at >= s, c.read_at < e) for s, e in spans))))
    with engine.connect() as conn:
        rows = [(r[0], _naive_utc(r[1]), r[2]) for r in conn.execute(query)]
    return pl.DataFrame(rows, schema={"endpoint_id": pl.String, "read_at": pl.Datetime("us"),
                                      "corrected_kwh": pl.Float64}, orient="row")


def energy_per_day(engine: Engine, root: Path, endpoint_ids: Sequence[str], start: date, end: date,
                   tz: ZoneInfo) -> pl.DataFrame:
    """Energy per endpoint per local day in [start, end], over the Parquet archive plus the database.

    Archived months are read from Parquet, the rest from the database (fed to DuckDB as Arrow), so a
    month is never counted twice. A day's energy is its last corrected counter minus the previous
    day's (the first day: minus the last reading before it in the month before, else its own first).
    Columns: endpoint_id, day, kwh, readings, source (archive, database or both).
    """
    if not endpoint_ids or end < start:
        return pl.DataFrame(schema=DAILY_SCHEMA)
    bounds = _day_bounds(start - timedelta(days=31), end, tz)
    lo = datetime(start.year, start.month, 1, tzinfo=tz) - timedelta(days=31)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz)
    months = archived_months(root)
    files = [str(_month_dir(root, m) / "readings.parquet") for m, item in months.items()
             if datetime.fromisoformat(item.end) > lo and datetime.fromisoformat(item.start) < hi and item.rows]
    recent = recent_frame(engine, endpoint_ids, _not_archived(lo, hi, months))
    wanted = ", ".join("'" + item.replace("'", "''") + "'" for item in endpoint_ids)  # literals: row groups pruned
    con = _duckdb().cursor()  # a cursor of the process's in-memory database: its own registrations, no set-up cost
    try:
        con.register("recent", recent.to_arrow())
        con.register("days", bounds.to_arrow())
        archived = (f"SELECT endpoint_id, read_at, corrected_kwh, 'archive' AS source FROM read_parquet({files!r}) "
                    f"WHERE corrected_kwh IS NOT NULL AND endpoint_id IN ({wanted}) "
                    "AND read_at >= $lo AND read_at < $hi UNION ALL ") if files else ""
        sql = f"""
            WITH r AS ({archived}SELECT endpoint_id, read_at, corrected_kwh, 'database' AS source FROM recent),
            d AS (
                SELECT r.endpoint_id, days.day, arg_max(r.corrected_kwh, r.read_at) AS last_kwh,
                       arg_min(r.corrected_kwh, r.read_at) AS first_kwh, count(*) AS readings,
                       CASE WHEN min(r.source) = max(r.source) THEN min(r.source) ELSE 'both' END AS source
                FROM r ASOF JOIN days ON r.read_at >= days.day_start
                WHERE r.read_at < days.day_end
                GROUP BY r.endpoint_id, days.day
            ),
            e AS (
                SELECT endpoint_id, day, readings, source,
                       last_kwh - coalesce(lag(last_kwh) OVER (PARTITION BY endpoint_id ORDER BY day), first_kwh)
                       AS kwh
                FROM d
            )
            SELECT endpoint_id, day, kwh, readings, source FROM e WHERE day >= $start ORDER BY endpoint_id, day
        """
        params: dict[str, Any] = {"start": start}
        if files:
            params |= {"lo": _naive_utc(lo), "hi": _naive_utc(hi)}
        result = pl.DataFrame(pl.from_arrow(con.sql(sql, params=params).to_arrow_table()))
    finally:
        con.close()
    return result.cast(DAILY_SCHEMA) if result.height else pl.DataFrame(schema=DAILY_SCHEMA)


def energy_per_month(engine: Engine, root: Path, endpoint_ids: Sequence[str], start: date, end: date,
                     tz: ZoneInfo) -> pl.DataFrame:
    """``energy_per_day`` summed per endpoint and local month (first day of the month in ``month``)."""
    daily = energy_per_day(engine, root, endpoint_ids, start, end, tz)
    return (daily.group_by("endpoint_id", pl.col("day").dt.truncate("1mo").alias("month"))
            .agg(pl.col("kwh").sum(), pl.col("readings").sum()).sort("endpoint_id", "month"))
