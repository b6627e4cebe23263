"""History over a year: raw readings, the hourly rollup, and DuckDB over the Parquet archive plus the
recent database (SQLite).

    python benchmarks/history.py                       # 10 endpoints, a year of 15-minute readings
    python benchmarks/history.py --endpoints 20 --interval 5

Readings are bulk-loaded (as benchmarks/billing.py does) for the year up to "now" (mid-November),
the rollup rebuilt from them, every closed month archived to Parquet (``nxforge archive``'s
function; the current month stays in the database only), then each query computes energy per
endpoint per local day over the year, for one endpoint and for all of them (a client's view):
raw readings, the hourly rollup (History's database path) and ``history_energy`` (the DuckDB
path: Parquet for archived months, the rollup for the rest). Both energy paths must agree.
Prints seconds and the rollup/DuckDB ratio (target >= 10x); not a pass/fail test.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from nxforge.module_system.loading import mount_modules  # noqa: E402

mount_modules(ROOT / "modules")

from nxforge_modules.consumption_monitor import rollup  # noqa: E402
from nxforge_modules.consumption_monitor.archive import archive_months  # noqa: E402
from nxforge_modules.consumption_monitor.history_queries import history_energy  # noqa: E402
from nxforge_modules.consumption_monitor.queries import history, history_rollup  # noqa: E402

from nxforge.db.engine import create_db_engine  # noqa: E402
from nxforge.migrations.runner import migrate_module  # noqa: E402

END = datetime(2026, 11, 15, 12, tzinfo=UTC)
"""Now: the current month (November) is in the database only, the eleven before it and a half are archived."""
START = END - timedelta(days=365)
PARIS = ZoneInfo("Europe/Paris")


def load(path: Path, endpoints: int, interval_min: int) -> int:
    """A year of readings per endpoint, straight into cm_reading; returns the row count."""
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO cm_endpoint (id, name, client, feed, poll_interval_s, enabled, config_hash) "
        "VALUES (?, ?, 'bench', 'A', ?, 1, 'bench')",
        [(f"ep-{i:03d}", f"ep-{i:03d}", interval_min * 60) for i in range(endpoints)],
    )
    steps = 365 * 24 * 60 // interval_min
    rows = 0
    for index in range(endpoints):
        endpoint_id = f"ep-{index:03d}"
        power_kw = 1.0 + index % 7
        batch = []
        for step in range(steps):
            at = START + timedelta(minutes=step * interval_min)
            kwh = round(1000.0 + power_kw * step * interval_min / 60, 1)
            batch.append((endpoint_id, at.strftime("%Y-%m-%d %H:%M:%S.%f"), 1, kwh, kwh, power_kw * 1000, 0.0, 0.0,
                          step + 1, 0, 0, 0.0, f"{endpoint_id}@{at.isoformat()}"))
        conn.executemany(
            "INSERT INTO cm_reading (endpoint_id, read_at, success, raw_kwh, corrected_kwh, power_w, offset_kwh, "
            "estimated_kwh, cum_good, cum_failed, cum_events, cum_estimated_kwh, reading_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        rows += len(batch)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return rows


def best_of(repeats: int, call) -> float:  # type: ignore[no-untyped-def]
    """The fastest of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--interval", type=int, default=15, help="minutes between readings")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.db"
        engine = create_db_engine(f"sqlite:///{path}")
        migrate_module(engine, "consumption-monitor", ROOT / "modules" / "consumption_monitor" / "migrations")
        started = time.perf_counter()
        rows = load(path, args.endpoints, args.interval)
        ids = [f"ep-{i:03d}" for i in range(args.endpoints)]
        with engine.begin() as conn:
            for endpoint_id in ids:
                rollup.rebuild(conn, endpoint_id, START)
        print(f"loaded {rows:,} readings and their rollup in {time.perf_counter() - started:.1f} s")
        root = Path(folder) / "archive"
        started = time.perf_counter()
        report = archive_months(engine, root, PARIS, END)
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        print(f"archived {len(report.written)} closed months in {time.perf_counter() - started:.1f} s "
              f"({size / 1e6:.1f} MB Parquet); {START:%Y-%m-%d} to {END:%Y-%m-%d %H:%M} UTC, the current month "
              "from the database")
        print(f"{'energy per day over a year':50} {'endpoints':>9} {'rows out':>9} {'seconds':>8}")
        ratios = {}
        for label, chosen in (("one endpoint", ids[:1]), ("all endpoints (a client)", ids)):
            raw = history(engine, chosen, START, END)
            raw_s = best_of(args.repeats, lambda c=chosen: history(engine, c, START, END))  # type: ignore[misc]
            daily = history_rollup(engine, chosen, START, END, bucket="day", tz=PARIS)
            daily_s = best_of(args.repeats,
                              lambda c=chosen: history_rollup(engine, c, START, END, bucket="day", tz=PARIS))  # type: ignore[misc]
            duck = history_energy(engine, chosen, START, END, bucket="day", tz=PARIS, archive=root)
            duck_s = best_of(args.repeats, lambda c=chosen: history_energy(  # type: ignore[misc]
                engine, c, START, END, bucket="day", tz=PARIS, archive=root))
            assert duck.height == daily.height and abs(duck["kwh"].sum() - daily["kwh"].sum()) < 1e-6 * daily[
                "kwh"].sum(), "the DuckDB path and the rollup path disagree"
            ratios[label] = daily_s / duck_s
            print(f"{'raw readings, ' + label:50} {len(chosen):>9} {raw.height:>9,} {raw_s:>8.3f}")
            print(f"{'hourly rollup per day, ' + label:50} {len(chosen):>9} {daily.height:>9,} {daily_s:>8.3f}")
            print(f"{'DuckDB: Parquet archive + recent rollup, ' + label:50} {len(chosen):>9} {duck.height:>9,} "
                  f"{duck_s:>8.3f}")
        for label, ratio in ratios.items():
            print(f"rollup / DuckDB, {label}: {ratio:.1f}x (target >= 10x for a client's year)")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
