"""Long-range History at scale: 1,000 endpoints x 10 years of 15-minute readings (~350 million) archived
to Parquet and queried through DuckDB.

    python benchmarks/history_scale.py                          # the full size, in a temporary folder
    python benchmarks/history_scale.py --endpoints 100 --years 2 --dir /tmp/scale --keep

The readings never go through the database: each month (Europe/Paris) is generated with Polars, in
memory one month at a time, and written in the archive's own layout by ``archive.write_month``
(readings, hourly file, manifest, verified). Counters rise with a daily swing and some noise; one
read in 500 fails. The queries run ``history_energy`` over the archive plus an empty database (the
recent part): a client's year by day (10 endpoints), every endpoint's whole range by month, one
endpoint's whole range by day. Prints generation time, size on disk, rows and query seconds; the
folder is deleted at the end unless ``--keep``. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from nxforge.module_system.loading import mount_modules  # noqa: E402

mount_modules(ROOT / "modules")

from nxforge_modules.consumption_monitor.archive import ARCHIVE_SCHEMA, archive_dir, write_month  # noqa: E402
from nxforge_modules.consumption_monitor.history_queries import history_energy  # noqa: E402

from nxforge.db.engine import create_db_engine  # noqa: E402
from nxforge.migrations.runner import migrate_module  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
LAST_MONTH = date(2026, 10, 1)
"""The newest month generated (October 2026): the range ends at its end, local midnight."""
FAIL_ONE_IN = 500


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)


def _months(years: int) -> list[date]:
    first = LAST_MONTH.year * 12 + LAST_MONTH.month - 1 - (12 * years - 1)
    return [date(index // 12, index % 12 + 1, 1) for index in range(first, first + 12 * years)]


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_readings(month: date, endpoints: int, interval_min: int, carry: np.ndarray) -> pl.DataFrame:
    """One local month of readings for every endpoint, sorted by endpoint and time (``ARCHIVE_SCHEMA``);
    ``carry`` is where each endpoint's counter stood at the start of the month (updated in place)."""
    start, end = _local_midnight(month), _local_midnight(_next(month))
    times = pl.datetime_range(start.replace(tzinfo=None), end.replace(tzinfo=None), f"{interval_min}m",
                              closed="left", eager=True)
    steps = times.dt.epoch("s").to_numpy() // (interval_min * 60)
    index = np.arange(endpoints, dtype=np.int64)[:, None]
    noise = ((steps[None, :] * 2654435761 + index * 40503) % 1009) / 1009  # deterministic, in [0, 1)
    hours = times.dt.hour().to_numpy().astype(np.float64)
    daily = 1.0 + 0.3 * np.cos((hours - 14.0) / 12.0 * np.pi)
    kw = (0.5 + (index % 37) * 0.25) * daily[None, :] * (0.9 + 0.2 * noise)
    counter = np.round(carry[:, None] + np.cumsum(kw * interval_min / 60, axis=1), 2)
    carry[:] = counter[:, -1]
    usable = ((steps[None, :] * 7919 + index * 104729) % FAIL_ONE_IN != 0).ravel()
    rows = endpoints * len(times)
    ids = pl.Series([f"ep-{i:04d}" for i in range(endpoints)]).gather(np.repeat(np.arange(endpoints), len(times)))
    kwh = pl.Series(counter.ravel()).set(pl.Series(~usable), None)  # type: ignore[arg-type]
    power = pl.Series(np.round(kw * 1000).ravel()).set(pl.Series(~usable), None)  # type: ignore[arg-type]
    return pl.DataFrame({
        "endpoint_id": ids, "read_at": times.gather(np.tile(np.arange(len(times)), endpoints)),
        "success": usable, "raw_kwh": kwh, "corrected_kwh": kwh, "power_w": power,
        "estimated_kwh": np.zeros(rows), "event": pl.repeat(None, rows, dtype=pl.String, eager=True),
    }).cast(ARCHIVE_SCHEMA)  # type: ignore[arg-type]


def generate(root: Path, endpoints: int, years: int, interval_min: int) -> tuple[int, float]:
    """Write every month in the archive layout; returns rows written and seconds taken."""
    started, rows = time.perf_counter(), 0
    carry = np.full(endpoints, 1000.0)
    now = datetime.now(UTC)
    for month in _months(years):
        readings = month_readings(month, endpoints, interval_min, carry)
        write_month(root, f"{month:%Y-%m}", readings, _local_midnight(month), _local_midnight(_next(month)), now)
        rows += readings.height
        del readings
        if month.month == 12:
            print(f"  ... {month.year} written: {rows:,} readings, {time.perf_counter() - started:.0f} s", flush=True)
    return rows, time.perf_counter() - started


def timed(call: Callable[[], pl.DataFrame], repeats: int) -> tuple[float, float, pl.DataFrame]:
    """The first call's seconds, the fastest of ``repeats`` more, and the result."""
    started = time.perf_counter()
    result = call()
    first = time.perf_counter() - started
    best = first
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return first, best, result


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--interval", type=int, default=15, help="minutes between readings")
    parser.add_argument("--repeats", type=int, default=1, help="warm runs of each query after the first")
    parser.add_argument("--dir", type=Path, help="work folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the archive and database afterwards")
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="nxforge-history-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        root = archive_dir(folder)
        print(f"generating {args.endpoints:,} endpoints x {args.years} years of {args.interval}-minute readings "
              f"in {folder}", flush=True)
        rows, generate_s = generate(root, args.endpoints, args.years, args.interval)
        readings_b, hours_b = _size(root), _size(root.parent / "hours")
        print(f"generated and archived {rows:,} readings in {generate_s:.1f} s "
              f"({rows / generate_s:,.0f} readings/s); {len(_months(args.years))} months")
        print(f"on disk: readings {readings_b / 1e6:,.1f} MB ({readings_b / rows:.2f} bytes per reading), "
              f"hourly files {hours_b / 1e6:,.1f} MB, total {(readings_b + hours_b) / 1e6:,.1f} MB")
        engine = create_db_engine(f"sqlite:///{folder / 'recent.db'}")  # the recent part: empty here
        migrate_module(engine, "consumption-monitor", ROOT / "modules" / "consumption_monitor" / "migrations")
        ids = [f"ep-{i:04d}" for i in range(args.endpoints)]
        client = ids[len(ids) // 2: len(ids) // 2 + 10]
        end = _local_midnight(_next(LAST_MONTH))
        year_start = _local_midnight(date(LAST_MONTH.year - 1, LAST_MONTH.month + 1, 1) if LAST_MONTH.month < 12
                                     else date(LAST_MONTH.year, 1, 1))
        all_start = _local_midnight(_months(args.years)[0])
        queries: list[tuple[str, Callable[[], pl.DataFrame]]] = [
            (f"a client's year by day ({len(client)} endpoints)",
             lambda: history_energy(engine, client, year_start, end, "day", PARIS, archive=root)),
            (f"all {len(ids):,} endpoints, {args.years} years by month",
             lambda: history_energy(engine, ids, all_start, end, "month", PARIS, archive=root)),
            (f"one endpoint, {args.years} years by day",
             lambda: history_energy(engine, ids[:1], all_start, end, "day", PARIS, archive=root)),
        ]
        print(f"{'query (DuckDB: Parquet archive + database)':52} {'rows out':>10} {'first s':>8} {'warm s':>8}")
        results: dict[str, Any] = {}
        for label, call in queries:
            first, best, result = timed(call, args.repeats)
            results[label] = result
            print(f"{label:52} {result.height:>10,} {first:>8.2f} {best:>8.2f}", flush=True)
        one = results[queries[2][0]]["kwh"].sum()
        monthly = results[queries[1][0]].filter(pl.col("endpoint_id") == ids[0])["kwh"].sum()
        assert abs(one - monthly) < 1e-6 * max(one, 1.0), (one, monthly)  # the same energy by day and by month
        engine.dispose()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
