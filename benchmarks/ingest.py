"""Ingest throughput: readings stored per second through the module's write path, SQLite and PostgreSQL.

    python benchmarks/ingest.py                                  # 1,000 endpoints x 10 rounds, both dialects
    python benchmarks/ingest.py --endpoints 5000 --rounds 10 --dialects postgresql --batches 100 1000

Each round stores one reading per endpoint the way the collect job does: ``store_batch`` in
transactions of ``--batch`` readings (corrected counters, running totals, idempotency key,
hourly rollup, all computed on write), against a table that already holds the earlier rounds.
The baseline, measured in the same run on the same database: ``store_reading`` one reading per
transaction on the first ``--single`` readings of a round (the row-by-row path); the ratio is
batched / row-by-row. PostgreSQL's batched path goes through COPY (``store_bulk.py``); issue 15's
target is >= 10,000 readings/s there. "flush rows/s": a spool file flushed after an outage, i.e.
``--flush-rounds`` readings of every endpoint handed to ``store_batch`` in one call (stored in
rounds of one reading per endpoint; before, such readings went one by one at the row-by-row
rate). Each batch size runs on a fresh database, best of ``--repeats``.

"Concurrent writers": ``--writers`` processes started together on a fresh database, each storing
its own share of the endpoints every round (contiguous slices, in transactions of up to ``--batch``
readings), as that many collectors do, each writing the endpoints it claimed; rows/s over the wall
time from their common start to the last one's end, and the ratio to one writer measured the same
way in the same run. Not a pass/fail test: it prints figures, with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from nxforge.module_system.loading import mount_modules  # noqa: E402

mount_modules(ROOT / "modules")

from billing import _database, _endpoints  # noqa: E402
from nxforge_modules.consumption_monitor.readings import RawReading  # noqa: E402
from nxforge_modules.consumption_monitor.store import store_batch, store_reading  # noqa: E402

from nxforge.db import create_db_engine  # noqa: E402
from nxforge.migrations.runner import migrate_module  # noqa: E402

START = datetime(2026, 4, 1, tzinfo=UTC)
MIGRATIONS = ROOT / "modules" / "consumption_monitor" / "migrations"


def _round(endpoints: int, step: int) -> list[RawReading]:
    at = START + timedelta(minutes=15 * step)
    return [RawReading(f"ep-{i:05d}", at, True, raw_kwh=1000.0 + step * (0.5 + (i % 16) * 0.125), power_w=2000.0,
                       engine="http", duration_ms=40) for i in range(endpoints)]


def _measure(dialect: str, workdir: Path, admin_url: str | None, args: argparse.Namespace, batch: int
             ) -> tuple[float, float, float, int]:
    """Batched rows/s over ``args.rounds`` rounds, row-by-row rows/s, then a spool flush's rows/s (fresh database)."""
    with _database(dialect, workdir, admin_url) as engine:
        migrate_module(engine, "consumption-monitor", MIGRATIONS)
        _endpoints(engine, args.endpoints)
        gc.collect()
        gc.freeze()  # as the collector does after start-up (nxforge.cli.cmd_collect)
        elapsed, rows = 0.0, 0
        for step in range(args.rounds):
            readings = _round(args.endpoints, step)
            started = time.perf_counter()
            for index in range(0, len(readings), batch):
                with engine.begin() as conn:
                    store_batch(conn, readings[index:index + batch])
            elapsed += time.perf_counter() - started
            rows += len(readings)
        single = _round(args.endpoints, args.rounds)[:args.single]
        started = time.perf_counter()
        for raw in single:
            with engine.begin() as conn:
                store_reading(conn, raw)
        single_rate = len(single) / (time.perf_counter() - started)
        spooled = [raw for step in range(args.rounds + 1, args.rounds + 1 + args.flush_rounds)
                   for raw in _round(args.endpoints, step)]
        started = time.perf_counter()
        with engine.begin() as conn:
            store_batch(conn, spooled)
        return rows / elapsed, single_rate, len(spooled) / (time.perf_counter() - started), rows


def _writer(url: str, share: slice, rounds: int, endpoints: int, batch: int, start: Any, ready: Any,
            done: Any) -> None:
    """One writer process: its share of every round, batch by batch, from the common start."""
    engine = create_db_engine(url)
    with engine.connect():
        pass  # connected before the start, as a running collector is
    gc.collect()
    gc.freeze()
    readings = [_round(endpoints, step)[share] for step in range(rounds)]
    ready.put(True)
    start.wait()
    for rows in readings:
        for index in range(0, len(rows), batch):
            with engine.begin() as conn:
                store_batch(conn, rows[index:index + batch])
    engine.dispose()
    done.put(len(readings) * len(readings[0]))


def _measure_writers(dialect: str, workdir: Path, admin_url: str | None, args: argparse.Namespace, batch: int,
                     writers: int) -> float:
    """Rows/s of ``writers`` processes storing disjoint shares of the endpoints at once (fresh database)."""
    context = multiprocessing.get_context("fork")
    start, ready, done = context.Event(), context.Queue(), context.Queue()
    with _database(dialect, workdir, admin_url) as engine:
        migrate_module(engine, "consumption-monitor", MIGRATIONS)
        _endpoints(engine, args.endpoints)
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()  # no pooled connection crosses the fork
        share = -(-args.endpoints // writers)
        processes = [context.Process(target=_writer, args=(url, slice(i * share, (i + 1) * share), args.rounds,
                                                            args.endpoints, batch, start, ready, done))
                     for i in range(writers)]
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=120)  # each has connected and built its readings
        started = time.perf_counter()
        start.set()
        rows = sum(done.get(timeout=600) for _ in processes)
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join()
            assert process.exitcode == 0, f"a writer exited {process.exitcode}"
        return rows / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 1000],
                        help="readings per transaction (the write_batch setting)")
    parser.add_argument("--single", type=int, default=300, help="readings stored one by one for comparison")
    parser.add_argument("--flush-rounds", type=int, default=5, help="readings per endpoint in the spool flushed")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each figure; the best is printed")
    parser.add_argument("--writers", type=int, nargs="*", default=[2],
                        help="concurrent writer processes to measure against one (none: skip that table)")
    parser.add_argument("--dialects", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    server = None
    admin_url = os.environ.get("NXFORGE_BENCH_DATABASE_URL")
    if "postgresql" in args.dialects and not admin_url:
        from tests.postgres_server import PostgresServer

        server = PostgresServer().start()
        admin_url = server.url()
    print(f"{'dialect':10} {'endpoints':>9} {'rounds':>6} {'batch':>5} {'rows':>8} {'batched rows/s':>14} "
          f"{'row-by-row rows/s':>17} {'ratio':>6} {'flush rows/s':>12} {'load':>9}", flush=True)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for dialect in args.dialects:
                for batch in args.batches:
                    load = f"{os.getloadavg()[0]:.1f}"
                    best, best_single, best_flush, rows = 0.0, 0.0, 0.0, 0
                    for _ in range(args.repeats):
                        rate, single_rate, flush_rate, rows = _measure(dialect, Path(workdir), admin_url, args, batch)
                        best, best_single = max(best, rate), max(best_single, single_rate)
                        best_flush = max(best_flush, flush_rate)
                    load += f"-{os.getloadavg()[0]:.1f}"
                    print(f"{dialect:10} {args.endpoints:>9} {args.rounds:>6} {batch:>5} {rows:>8} {best:>14.0f} "
                          f"{best_single:>17.0f} {best / best_single:>6.1f} {best_flush:>12.0f} {load:>9}", flush=True)
        if args.writers:
            _print_writers(args, admin_url)
    finally:
        if server is not None:
            server.stop()
    return 0


def _print_writers(args: argparse.Namespace, admin_url: str | None) -> None:
    print(f"\n{'dialect':10} {'endpoints':>9} {'rounds':>6} {'batch':>5} {'writers':>7} {'rows/s':>8} "
          f"{'vs 1 writer':>11} {'load':>9}", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        for dialect in args.dialects:
            for batch in args.batches:
                one = 0.0
                for writers in sorted({1, *args.writers}):
                    load = f"{os.getloadavg()[0]:.1f}"
                    rate = max(_measure_writers(dialect, Path(workdir), admin_url, args, batch, writers)
                               for _ in range(args.repeats))
                    one = one or rate
                    load += f"-{os.getloadavg()[0]:.1f}"
                    print(f"{dialect:10} {args.endpoints:>9} {args.rounds:>6} {batch:>5} {writers:>7} {rate:>8.0f} "
                          f"{rate / one:>11.2f} {load:>9}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
