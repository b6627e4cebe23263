"""Closed months of readings to Parquet: written, verified by row count and SHA-256, optionally pruned.

The layout (``month=YYYY-MM/readings.parquet`` beside its ``manifest.json``) is in ``archive_layout``;
reading the archive with the recent database through DuckDB is ``history_queries``. Archiving a
month again rewrites the same file (stored once); a month whose file and manifest agree with the
database is skipped. Readings stay in the database unless ``archive_keep_months`` (a setting,
0 = keep) says to remove archived months older than that.

``read_at`` is stored as a naive UTC timestamp so DuckDB needs no time-zone support (no extension).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine, delete, func, select

from nxforge.sdk import NxForgeError

from .archive_layout import HOURS_SCHEMA, MonthArchive, hours_file, month_dir, month_file

# re-exported: the CLI, the notebooks and tests import these from here
from .archive_layout import archive_dir as archive_dir
from .archive_layout import archived_months as archived_months
from .history_queries import HOURS_OF_READINGS, duckdb_cursor
from .history_queries import energy_per_day as energy_per_day
from .history_queries import energy_per_month as energy_per_month
from .periods import month_period
from .tables import reading

log = logging.getLogger(__name__)

ARCHIVE_SCHEMA: dict[str, Any] = {
    "endpoint_id": pl.String, "read_at": pl.Datetime("us"), "success": pl.Boolean, "raw_kwh": pl.Float64,
    "corrected_kwh": pl.Float64, "power_w": pl.Float64, "estimated_kwh": pl.Float64, "event": pl.String,
}
ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group: small enough that a few endpoints' rows (files are sorted by endpoint)
skip most of a month of 1,000 endpoints on the endpoint_id statistics."""


class ArchiveError(NxForgeError):
    """An archive file that does not match its manifest or the database."""


@dataclass
class ArchiveReport:
    """What ``archive_months`` did, month by month."""

    written: list[MonthArchive]
    unchanged: list[str]
    pruned: dict[str, int]


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
    """Check the month's files against its manifest: checksums and row counts read back."""
    hours = hours_file(root, item.month)
    if item.hours_sha256 and (not hours.exists() or _sha256(hours) != item.hours_sha256
                              or pl.scan_parquet(hours).select(pl.len()).collect().item() != item.hours_rows):
        raise ArchiveError(f"the hourly archive of {item.month} does not match its manifest ({hours})",
                           "run `nxforge archive --month " + item.month + " --force` to write it again")
    path = month_file(root, item.month)
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


def hours_of(readings: pl.DataFrame) -> pl.DataFrame:
    """A month's readings folded per endpoint and UTC hour as ``rollup.Bucket`` folds them (the rows of
    ``cm_reading_hourly``), by the fold History applies to readings, sorted by endpoint and hour."""
    con = duckdb_cursor()
    try:
        con.register("readings", readings.select("endpoint_id", "read_at", "corrected_kwh", "power_w").to_arrow())
        hours = pl.DataFrame(pl.from_arrow(con.sql(HOURS_OF_READINGS.format(source="readings")).to_arrow_table()))
    finally:
        con.close()
    return hours.select(list(HOURS_SCHEMA)).cast(HOURS_SCHEMA)  # type: ignore[arg-type]


def _write_parquet(frame: pl.DataFrame, path: Path) -> str:
    """Write through a temporary file and a rename; returns the file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    frame.write_parquet(temporary, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS)
    digest = _sha256(temporary)
    os.replace(temporary, path)
    return digest


def _write_manifest(root: Path, item: MonthArchive) -> None:
    manifest = month_dir(root, item.month) / "manifest.json.tmp"
    manifest.write_text(json.dumps(asdict(item), indent=2), encoding="utf-8")
    os.replace(manifest, manifest.with_suffix(""))


def write_month(root: Path, month: str, frame: pl.DataFrame, start: datetime, end: datetime,
                now: datetime) -> MonthArchive:
    """Write one month's readings (``ARCHIVE_SCHEMA``, sorted by endpoint and time), its hourly file and its
    manifest, each through a temporary file and a rename, then verify them; returns the manifest."""
    sha256 = _write_parquet(frame, month_file(root, month))
    hours = hours_of(frame)
    item = MonthArchive(month, frame.height, start.isoformat(), end.isoformat(), sha256,
                        now.astimezone(UTC).isoformat(), hours.height, _write_parquet(hours, hours_file(root, month)))
    _write_manifest(root, item)
    verify_month(root, item)
    return item


def add_hours(root: Path, item: MonthArchive) -> MonthArchive:
    """Give a month archived before hourly files existed its hourly file, folded from its own Parquet."""
    verify_month(root, item)
    hours = hours_of(pl.read_parquet(month_file(root, item.month),
                                     columns=["endpoint_id", "read_at", "corrected_kwh", "power_w"]))
    item = replace(item, hours_rows=hours.height, hours_sha256=_write_parquet(hours, hours_file(root, item.month)))
    _write_manifest(root, item)
    verify_month(root, item)
    return item


def archive_month(engine: Engine, root: Path, month: str, tz: ZoneInfo, now: datetime,
                  force: bool = False) -> MonthArchive | None:
    """Write one closed month to Parquet (replacing any earlier file); None when it was already archived as is."""
    period = month_period(month, tz, now)
    if period.to_date:
        raise ArchiveError(f"{month} is not over yet", "archive only months that have ended")
    known = archived_months(root).get(month)
    if known is not None:
        in_database = _db_count(engine, period.start, period.end)
        pruned = in_database == 0 and known.rows > 0  # the archive is now the only copy: never overwrite it
        if pruned or (not force and known.rows == in_database):
            verify_month(root, known)
            if not known.hours_sha256:
                add_hours(root, known)
            return None
    frame = _month_frame(engine, period.start, period.end)
    item = write_month(root, month, frame, period.start, period.end, now)
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
