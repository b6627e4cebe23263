"""Where the Parquet archive of readings lives and what each month's manifest says: shared by the
writer (``archive``) and the readers (``history_queries``).

Layout under the module's storage: ``archive/readings/month=YYYY-MM/readings.parquet`` (months of
the billing time zone) beside ``month=YYYY-MM/manifest.json`` (rows, UTC bounds, SHA-256 of the
file), and ``archive/hours/month=YYYY-MM/hours.parquet``: the month's readings folded per endpoint
and UTC hour exactly as the database's hourly rollup folds them (a quarter of the rows at 15-minute
readings), which long-range History reads. Times are naive UTC so DuckDB needs no time zones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl


@dataclass(frozen=True)
class MonthArchive:
    """What one archived month holds: its file, row count, UTC bounds and checksum."""

    month: str
    rows: int
    start: str
    end: str
    sha256: str
    archived_at: str
    hours_rows: int = 0
    hours_sha256: str = ""
    """Empty for a month archived before hour files existed: readers then fold its readings."""


def archive_dir(storage: Path) -> Path:
    """The folder holding the month partitions under a module's storage."""
    return storage / "archive" / "readings"


def month_dir(root: Path, month: str) -> Path:
    """The partition folder of one month (``month=YYYY-MM``)."""
    return root / f"month={month}"


def month_file(root: Path, month: str) -> Path:
    """The Parquet file of one archived month."""
    return month_dir(root, month) / "readings.parquet"


def hours_file(root: Path, month: str) -> Path:
    """The hourly Parquet file of one archived month (beside the readings tree, under ``hours/``)."""
    return root.parent / "hours" / f"month={month}" / "hours.parquet"


HOURS_SCHEMA: dict[str, Any] = {  # the columns of cm_reading_hourly, times naive UTC
    "endpoint_id": pl.String, "hour": pl.Datetime("us"), "first_at": pl.Datetime("us"), "first_kwh": pl.Float64,
    "last_at": pl.Datetime("us"), "last_kwh": pl.Float64, "good": pl.Int64, "failed": pl.Int64,
    "power_sum_w": pl.Float64, "power_n": pl.Int64, "power_max_w": pl.Float64}


def archived_months(root: Path) -> dict[str, MonthArchive]:
    """Every month with a manifest, by ``YYYY-MM``."""
    found: dict[str, MonthArchive] = {}
    for manifest in sorted(root.glob("month=*/manifest.json")):
        item = MonthArchive(**json.loads(manifest.read_text(encoding="utf-8")))
        found[item.month] = item
    return found
