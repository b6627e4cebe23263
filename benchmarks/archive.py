"""A year of History three ways: SQLite raw readings, the hourly rollup, DuckDB over the Parquet archive.

    python benchmarks/archive.py                         # 10 endpoints, a year of 15-minute readings (350k rows)
    python benchmarks/archive.py --endpoints 100 --years 2

Readings are bulk-loaded into SQLite, the rollup rebuilt, every closed month archived to Parquet
(``nxforge archive``'s function), then each path computes energy per endpoint per local day for
the whole range, for one endpoint and for all of them (a client's view). Prints seconds, ratios
and the archive's size; not a pass/fail test.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from nxforge.module_system.loading import mount_modules  # noqa: E402

mount_modules(ROOT / "modules")

from nxforge_modules.consumption_monitor import rollup  # noqa: E402
from nxforge_modules.consumption_monitor.archive import archive_months, energy_per_day  # noqa: E402
from nxforge_modules.consumption_monitor.queries import history, history_rollup  # noqa: E402

from nxforge.db.engine import create_db_engine  # noqa: E402
from nxforge.migrations.runner import migrate_module  # noqa: E402

END = datetime(2026, 11, 1, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def load(path: Path, endpoints: int, interval_min: int, start: datetime, end: datetime) -> int:
    """Readings every ``interval_min`` from ``start`` to ``end`` per endpoint, straight into cm_reading."""
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO cm_endpoint (id, name, client, feed, poll_interval_s, enabled, config_hash) "
        "VALUES (?, ?, 'bench', 'A', ?, 1, 'bench')",
        [(f"ep-{i:03d}", f"ep-{i:03d}", interval_min * 60) for i in range(endpoints)],
    )
    steps = int((end - start).total_seconds() // (interval_min * 60))
    rows = 0
    for index in range(endpoints):
        endpoint_id = f"ep-{index:03d}"
        power_kw = 1.0 + index % 7
        batch = []
        for step in range(steps):
            at = start + timedelta(minutes=step * interval_min)
            kwh = round(1000.0 + power_kw * step * interval_min / 60, 1)
            batch.append((endpoint_id, at.strftime("%Y-%m-%d %H:%M:%S.%f"), kwh, kwh, power_kw * 1000,
                          step + 1, f"{endpoint_id}@{step}"))
        conn.executemany(
            "INSERT INTO cm_reading (endpoint_id, read_at, success, raw_kwh, corrected_kwh, power_w, offset_kwh, "
            "estimated_kwh, cum_good, cum_failed, cum_events, cum_estimated_kwh, reading_key) "
            "VALUES (?, ?, 1, ?, ?, ?, 0, 0, ?, 0, 0, 0, ?)", batch)
        rows += len(batch)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return rows


def best_of(repeats: int, call: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeats`` calls in seconds, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return min(times), result


def raw_per_day(engine: Any, ids: list[str], start: datetime, end: datetime) -> pl.DataFrame:
    """Energy per endpoint per local day from the raw readings (what History did before the rollup)."""
    frame = history(engine, ids, start, end)
    return (frame.with_columns(pl.col("read_at").dt.convert_time_zone(PARIS.key).dt.date().alias("day"))
            .group_by("endpoint_id", "day").agg(pl.col("corrected_kwh").sort_by("read_at").last())
            .sort("endpoint_id", "day")
            .with_columns(pl.col("corrected_kwh").diff().over("endpoint_id").alias("kwh")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--interval", type=int, default=15, help="minutes between readings")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    start = END - timedelta(days=365 * args.years)
    now = END + timedelta(days=1)  # every month of the range is over: all archived but the last UTC hour
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.db"
        engine = create_db_engine(f"sqlite:///{path}")
        migrate_module(engine, "consumption-monitor", ROOT / "modules" / "consumption_monitor" / "migrations")
        started = time.perf_counter()
        rows = load(path, args.endpoints, args.interval, start, END)
        ids = [f"ep-{i:03d}" for i in range(args.endpoints)]
        loaded_s = time.perf_counter() - started
        started = time.perf_counter()
        with engine.begin() as conn:
            for endpoint_id in ids:
                rollup.rebuild(conn, endpoint_id, start)
        rollup_s = time.perf_counter() - started
        root = Path(folder) / "archive"
        started = time.perf_counter()
        report = archive_months(engine, root, PARIS, now)
        archive_s = time.perf_counter() - started
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        print(f"{rows:,} readings ({args.endpoints} endpoints, {args.years} year(s), every {args.interval} min): "
              f"loaded {loaded_s:.1f} s, rollup {rollup_s:.1f} s, archived {len(report.written)} months in "
              f"{archive_s:.1f} s ({size / 1e6:.1f} MB Parquet, {size / rows:.1f} bytes per reading)")
        again = time.perf_counter()
        archive_months(engine, root, PARIS, now)
        print(f"archive again (nothing changed, files verified): {time.perf_counter() - again:.2f} s")
        first_day, last_day = start.astimezone(PARIS).date() + timedelta(days=1), (END - timedelta(hours=1)).astimezone(
            PARIS).date()
        print(f"{'energy per day over the range':34} {'endpoints':>9} {'raw SQLite':>11} {'rollup':>9} "
              f"{'DuckDB':>9} {'rollup/DuckDB':>14} {'raw/DuckDB':>11}")
        for label, chosen in (("one endpoint", ids[:1]), ("all endpoints (a client)", ids)):
            raw_s, raw = best_of(args.repeats, lambda c=chosen: raw_per_day(engine, c, start, END))  # type: ignore[misc]
            rollup_q_s, daily = best_of(args.repeats, lambda c=chosen: history_rollup(  # type: ignore[misc]
                engine, c, start, END, bucket="day", tz=PARIS))
            duck_s, duck = best_of(args.repeats, lambda c=chosen: energy_per_day(  # type: ignore[misc]
                engine, root, c, first_day, last_day, PARIS))
            print(f"{label:34} {len(chosen):>9} {raw_s:>10.3f}s {rollup_q_s:>8.3f}s {duck_s:>8.3f}s "
                  f"{rollup_q_s / duck_s:>13.1f}x {raw_s / duck_s:>10.1f}x")
            check = duck.filter(pl.col("endpoint_id") == chosen[0])["kwh"].sum()
            expected = raw.filter((pl.col("endpoint_id") == chosen[0]) & pl.col("day").is_between(
                first_day, last_day))["kwh"].sum()
            assert abs(check - expected) < 1e-6 * max(1.0, expected), (check, expected)
            assert daily.height > 0
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
