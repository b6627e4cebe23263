"""Ingest throughput: readings stored per second through the module's write path, SQLite and PostgreSQL.

    python benchmarks/ingest.py                                  # 1,000 endpoints x 20 rounds, both dialects
    python benchmarks/ingest.py --endpoints 5000 --rounds 10 --dialects postgresql

Each round stores one reading per endpoint the way the collect job does: ``store_batch`` in
transactions of ``--batch`` readings (corrected counters, running totals, idempotency key,
hourly rollup, all computed on write), against a table that already holds the earlier rounds.
For comparison, ``store_reading`` one reading per transaction on the first ``--single``
readings of a round. Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from nxforge.module_system.loading import mount_modules  # noqa: E402

mount_modules(ROOT / "modules")

from billing import _database, _endpoints  # noqa: E402
from nxforge_modules.consumption_monitor.readings import RawReading  # noqa: E402
from nxforge_modules.consumption_monitor.store import store_batch, store_reading  # noqa: E402

from nxforge.migrations.runner import migrate_module  # noqa: E402

START = datetime(2026, 4, 1, tzinfo=UTC)
MIGRATIONS = ROOT / "modules" / "consumption_monitor" / "migrations"


def _round(endpoints: int, step: int) -> list[RawReading]:
    at = START + timedelta(minutes=15 * step)
    return [RawReading(f"ep-{i:05d}", at, True, raw_kwh=1000.0 + step * (0.5 + (i % 16) * 0.125), power_w=2000.0,
                       engine="http", duration_ms=40) for i in range(endpoints)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100, help="readings per transaction (the write_batch setting)")
    parser.add_argument("--single", type=int, default=300, help="readings stored one by one for comparison")
    parser.add_argument("--dialects", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    server = None
    admin_url = os.environ.get("NXFORGE_BENCH_DATABASE_URL")
    if "postgresql" in args.dialects and not admin_url:
        from tests.postgres_server import PostgresServer

        server = PostgresServer().start()
        admin_url = server.url()
    print(f"{'dialect':10} {'endpoints':>9} {'rounds':>6} {'batch':>5} {'rows':>8} {'batched rows/s':>14} "
          f"{'one-by-one rows/s':>17}", flush=True)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for dialect in args.dialects:
                with _database(dialect, Path(workdir), admin_url) as engine:
                    migrate_module(engine, "consumption-monitor", MIGRATIONS)
                    _endpoints(engine, args.endpoints)
                    elapsed, rows = 0.0, 0
                    for step in range(args.rounds):
                        readings = _round(args.endpoints, step)
                        started = time.perf_counter()
                        for index in range(0, len(readings), args.batch):
                            with engine.begin() as conn:
                                store_batch(conn, readings[index:index + args.batch])
                        elapsed += time.perf_counter() - started
                        rows += len(readings)
                    single = _round(args.endpoints, args.rounds)[:args.single]
                    started = time.perf_counter()
                    for raw in single:
                        with engine.begin() as conn:
                            store_reading(conn, raw)
                    single_rate = len(single) / (time.perf_counter() - started)
                    print(f"{dialect:10} {args.endpoints:>9} {args.rounds:>6} {args.batch:>5} {rows:>8} "
                          f"{rows / elapsed:>14.0f} {single_rate:>17.0f}", flush=True)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
