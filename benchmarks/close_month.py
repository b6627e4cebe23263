"""Closing a month on PostgreSQL: statements per second, PDFs per second, and serving a closed month
from its statements against recomputing it, in one run.

    python benchmarks/close_month.py                         # 5,000 endpoints, 500 clients, hourly readings
    python benchmarks/close_month.py --endpoints 500 --clients 50 --interval 15
    NXFORGE_BENCH_DATABASE_URL=postgresql+psycopg://... python benchmarks/close_month.py

Readings (corrected counters and running totals filled in, as the collector stores them) cover
March 2026 and a day either side, bulk-loaded with COPY. The close goes through the real billing
query function (``statement_lines``) and writes the append-only statement tables; PDFs are
rendered from the frozen statements. Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from nxforge.module_system.loading import mount_modules  # noqa: E402

mount_modules(ROOT / "modules")

from nxforge_modules.consumption_monitor.billing import statement_lines  # noqa: E402
from nxforge_modules.consumption_monitor.billing_settings import BillingSettings  # noqa: E402
from nxforge_modules.consumption_monitor.periods import month_period  # noqa: E402
from nxforge_modules.consumption_monitor.statement_pdf import statements_pdf  # noqa: E402
from nxforge_modules.consumption_monitor.statements import (  # noqa: E402
    close_month,
    draft_statements,
    served_statements,
)
from nxforge_modules.consumption_monitor.terms import ClientTerms  # noqa: E402

from nxforge.db.engine import create_db_engine  # noqa: E402
from nxforge.migrations.runner import migrate_module  # noqa: E402

MONTH = "2026-03"
TZ = ZoneInfo("UTC")
FIRST, LAST = datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)
NOW = datetime(2026, 4, 10, tzinfo=UTC)
COLUMNS = ("endpoint_id", "read_at", "success", "raw_kwh", "corrected_kwh", "offset_kwh", "estimated_kwh",
           "power_w", "cum_good", "cum_failed", "cum_events", "cum_estimated_kwh", "reading_key")


def _rows(endpoints: int, interval_min: int) -> Iterator[tuple[object, ...]]:
    steps = int((LAST - FIRST).total_seconds() // (interval_min * 60))
    for index in range(endpoints):
        endpoint_id = f"ep-{index:05d}"
        power_kw = 0.5 + (index % 16) * 0.5
        for step in range(steps):
            at = FIRST + timedelta(minutes=step * interval_min)
            kwh = round(1000.0 + power_kw * step * interval_min / 60, 3)
            yield (endpoint_id, at, True, kwh, kwh, 0.0, 0.0, power_kw * 1000, step + 1, 0, 0, 0.0,
                   f"{endpoint_id}@{at.isoformat()}")


def _load(engine: Engine, endpoints: int, clients: int, interval_min: int) -> int:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO cm_endpoint (id, name, client, feed, poll_interval_s, enabled, config_hash) "
            "VALUES (:id, :id, :client, 'A', 900, TRUE, 'bench')"),
            [{"id": f"ep-{i:05d}", "client": f"client-{i % clients:03d}"} for i in range(endpoints)])
        conn.execute(text(
            "INSERT INTO cm_client_assignment (endpoint_id, client, valid_from, recorded_at) "
            "SELECT id, client, :since, :since FROM cm_endpoint"), {"since": datetime(1970, 1, 1, tzinfo=UTC)})
        conn.execute(text("SELECT cm_reading_ensure_partitions(:a, :b)"), {"a": FIRST, "b": LAST})
    raw = engine.raw_connection()
    count = 0
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY cm_reading ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in _rows(endpoints, interval_min):
                copy.write_row(row)
                count += 1
        raw.commit()
    finally:
        raw.close()
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cm_reading")
    return count


def run(engine: Engine, endpoints: int, clients: int, interval_min: int) -> None:
    """Load, close, render, serve; print one block of figures."""
    migrate_module(engine, "consumption-monitor", ROOT / "modules" / "consumption_monitor" / "migrations")
    started = time.perf_counter()
    readings = _load(engine, endpoints, clients, interval_min)
    load_s = time.perf_counter() - started
    terms = {f"client-{i:03d}": ClientTerms(name=f"client-{i:03d}", rate_per_kwh=0.18 + (i % 7) / 100,
                                             overhead_factor=1.4) for i in range(clients)}
    settings = replace(BillingSettings.defaults(), gap_after_s=interval_min * 60 * 1.5)

    def source(month: str, at: datetime, client: str | None):  # type: ignore[no-untyped-def]
        return statement_lines(engine, month, TZ, at, clients=terms, settings=settings, client=client)

    started = time.perf_counter()
    recomputed = draft_statements(source(MONTH, NOW, None), month_period(MONTH, TZ, NOW), TZ, 1)
    recompute_s = time.perf_counter() - started
    started = time.perf_counter()
    closed = close_month(engine, MONTH, TZ, NOW, source, who="bench", max_estimated_share=1.0)
    close_s = time.perf_counter() - started
    started = time.perf_counter()
    _, served = served_statements(engine, MONTH, TZ, NOW, source)
    serve_s = time.perf_counter() - started
    assert [s.digest for s in served] == [s.digest for s in closed] == [s.digest for s in recomputed]
    started = time.perf_counter()
    pdf_bytes = sum(len(statements_pdf([item], site_name="Bench DC", tz=TZ)) for item in served)
    pdf_s = time.perf_counter() - started
    lines = sum(item.lines.height for item in closed)
    print(f"PostgreSQL, {endpoints:,} endpoints, {clients:,} clients, readings every {interval_min} min "
          f"({readings:,} readings, loaded in {load_s:.1f} s)")
    print(f"  close {MONTH}:            {close_s:8.2f} s   {len(closed) / close_s:8.1f} statements/s "
          f"({lines:,} lines, computed and stored)")
    print(f"  statement PDFs:           {pdf_s:8.2f} s   {len(served) / pdf_s:8.1f} PDF/s "
          f"({pdf_bytes / len(served) / 1024:.1f} KiB each)")
    print(f"  serve closed month:       {serve_s:8.3f} s   (from the frozen statements)")
    print(f"  recompute the same month: {recompute_s:8.3f} s   (statement_lines + totals): "
          f"serving is {recompute_s / serve_s:.1f}x faster")


def main(argv: list[str] | None = None) -> int:
    """Start PostgreSQL unless given one, run once, clean up."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--interval", type=int, default=60, help="minutes between readings")
    args = parser.parse_args(argv)
    server = None
    admin_url = os.environ.get("NXFORGE_BENCH_DATABASE_URL")
    if not admin_url:
        from tests.postgres_server import PostgresServer

        server = PostgresServer().start()
        admin_url = server.url()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_db_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
        try:
            run(engine, args.endpoints, args.clients, args.interval)
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
