"""Billing time per endpoint count and reading interval, on SQLite and PostgreSQL.

    python benchmarks/billing.py                        # 100 and 1,000 endpoints, 15 min and 1 min
    python benchmarks/billing.py --endpoints 100 1000 5000 --intervals 15 1 --days 2
    NXFORGE_BENCH_DATABASE_URL=postgresql+psycopg://... python benchmarks/billing.py --dialects postgresql

Readings are bulk-inserted (COPY on PostgreSQL, executemany on SQLite) with their corrected
counters and running totals already filled in, covering ``--days`` up to the start of the
billed month's second day. Billing should stay flat across intervals: it does index look-ups
at the period bounds, never a scan of the readings. Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from nxforge.module_system.loading import mount_modules  # noqa: E402

mount_modules(ROOT / "modules")

from nxforge_modules.consumption_monitor.billing import billing_by_client, billing_by_endpoint  # noqa: E402

from nxforge.db.engine import create_db_engine  # noqa: E402
from nxforge.migrations.runner import migrate_module  # noqa: E402

MONTH_START = datetime(2026, 4, 1, tzinfo=UTC)
NOW = MONTH_START + timedelta(days=1)
COLUMNS = ("endpoint_id", "read_at", "success", "raw_kwh", "corrected_kwh", "offset_kwh", "estimated_kwh",
           "cum_good", "cum_failed", "cum_events", "cum_estimated_kwh", "reading_key")


def _rows(endpoints: int, interval_min: int, days: int) -> Iterator[tuple[object, ...]]:
    start = NOW - timedelta(days=days)
    steps = days * 24 * 60 // interval_min
    for index in range(endpoints):
        endpoint_id = f"ep-{index:05d}"
        power_kw = 0.5 + (index % 16) * 0.5
        for step in range(steps):
            at = start + timedelta(minutes=step * interval_min)
            kwh = round(1000.0 + power_kw * step * interval_min / 60, 1)
            yield (endpoint_id, at, True, kwh, kwh, 0.0, 0.0, step + 1, 0, 0, 0.0, f"{endpoint_id}@{at.isoformat()}")


def _endpoints(engine: Engine, endpoints: int) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO cm_endpoint (id, name, client, feed, poll_interval_s, enabled, config_hash) "
            "VALUES (:id, :id, :client, 'A', 900, TRUE, 'bench')"),
            [{"id": f"ep-{i:05d}", "client": f"client-{i % 50:02d}"} for i in range(endpoints)])
        conn.execute(text(
            "INSERT INTO cm_client_assignment (endpoint_id, client, valid_from, recorded_at) "
            "SELECT id, client, :since, :since FROM cm_endpoint"), {"since": datetime(1970, 1, 1, tzinfo=UTC)})


def _load_sqlite(path: str, rows: Iterator[tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    placeholders = ", ".join("?" for _ in COLUMNS)

    def converted() -> Iterator[tuple[object, ...]]:
        for row in rows:
            at = row[1]
            assert isinstance(at, datetime)
            yield (row[0], at.strftime("%Y-%m-%d %H:%M:%S.%f"), 1, *row[3:])

    conn.executemany(f"INSERT INTO cm_reading ({', '.join(COLUMNS)}) VALUES ({placeholders})", converted())
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def _load_postgres(engine: Engine, rows: Iterator[tuple[object, ...]], days: int) -> None:
    with engine.begin() as conn:  # cm_reading is partitioned by month: the months must exist before COPY
        conn.execute(text("SELECT cm_reading_ensure_partitions(:a, :b)"), {"a": NOW - timedelta(days=days), "b": NOW})
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY cm_reading ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        raw.commit()
        raw.commit()
    finally:
        raw.close()
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cm_reading")  # what autovacuum does after a bulk load


@contextmanager
def _database(dialect: str, workdir: Path, admin_url: str | None) -> Iterator[Engine]:
    if dialect == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        engine = create_db_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        path.unlink(missing_ok=True)
        return
    assert admin_url is not None
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(engine: Engine, repeats: int) -> tuple[float, float]:
    """Best of ``repeats`` for the endpoint table and the client table (after one warm-up)."""
    tz = ZoneInfo("UTC")
    billing_by_endpoint(engine, "2026-04", tz, NOW)
    by_endpoint, by_client = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        table = billing_by_endpoint(engine, "2026-04", tz, NOW)
        by_endpoint.append(time.perf_counter() - started)
        started = time.perf_counter()
        billing_by_client(engine, "2026-04", tz, NOW)
        by_client.append(time.perf_counter() - started)
    assert table["kwh"].null_count() == 0
    return min(by_endpoint), min(by_client)


def main(argv: list[str] | None = None) -> int:
    """Run the grid and print one line per cell."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--intervals", type=int, nargs="+", default=[15, 1], help="minutes between readings")
    parser.add_argument("--days", type=int, default=2, help="days of readings (ending one day into the month)")
    parser.add_argument("--dialects", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    server = None
    admin_url = os.environ.get("NXFORGE_BENCH_DATABASE_URL")
    if "postgresql" in args.dialects and not admin_url:
        from tests.postgres_server import PostgresServer

        server = PostgresServer().start()
        admin_url = server.url()
    print(f"{'dialect':10} {'endpoints':>9} {'interval':>8} {'readings':>10} {'load s':>7} "
          f"{'by endpoint s':>13} {'by client s':>11}")
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for dialect in args.dialects:
                for count in args.endpoints:
                    for interval in args.intervals:
                        with _database(dialect, Path(workdir), admin_url) as engine:
                            migrate_module(engine, "consumption-monitor",
                                           ROOT / "modules" / "consumption_monitor" / "migrations")
                            _endpoints(engine, count)
                            started = time.perf_counter()
                            rows = _rows(count, interval, args.days)
                            if dialect == "sqlite":
                                _load_sqlite(str(engine.url.database), rows)
                            else:
                                _load_postgres(engine, rows, args.days)
                            load_s = time.perf_counter() - started
                            readings = count * args.days * 24 * 60 // interval
                            by_endpoint, by_client = measure(engine, args.repeats)
                            print(f"{dialect:10} {count:>9} {interval:>6}m {readings:>10} {load_s:>7.1f} "
                                  f"{by_endpoint:>13.3f} {by_client:>11.3f}", flush=True)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
