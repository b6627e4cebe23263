"""Sync (insert, update, retire, client changes), idempotent writes and the spool, on both databases."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nxforge_modules.consumption_monitor.config import load_endpoints
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.spool import Spool
from nxforge_modules.consumption_monitor.store import store_reading
from nxforge_modules.consumption_monitor.sync import sync_endpoints
from nxforge_modules.consumption_monitor.tables import client_assignment, endpoint, reading
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from nxforge.db.engine import create_db_engine
from tests.modules.consumption_monitor.conftest import add_endpoint, utc
from tests.modules.consumption_monitor.test_config import GOOD

PARIS = ZoneInfo("Europe/Paris")


def sync(engine: Engine, folder: Path, day: int) -> object:
    return sync_endpoints(engine, load_endpoints(folder), now=utc(2026, 4, day), tz=PARIS, default_poll_s=900,
                          default_rollover_kwh=999999.9, default_max_kw=50.0)


def test_sync_inserts_updates_retires_and_tracks_clients(cm_engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(GOOD)
    first = sync(cm_engine, tmp_path, 1)
    assert first.added == ["rack1-a", "rack1-b"]  # type: ignore[attr-defined]
    assert sync(cm_engine, tmp_path, 2).updated == []  # type: ignore[attr-defined]
    (tmp_path / "site.yaml").write_text(GOOD.replace("client: acme\n    feed: A", "client: initech\n    feed: A")
                                        .split("  - id: rack1-b")[0])
    third = sync(cm_engine, tmp_path, 3)
    assert third.updated == ["rack1-a"] and third.retired == ["rack1-b"]  # type: ignore[attr-defined]
    with cm_engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(endpoint))}
        assignments = [(r.endpoint_id, r.client, r.valid_from) for r in
                       conn.execute(select(client_assignment).order_by(client_assignment.c.id))]
    assert rows["rack1-b"].retired_at == utc(2026, 4, 3) and rows["rack1-a"].client == "initech"
    assert rows["rack1-a"].circuit_max_kw == 7.4 and rows["rack1-a"].rollover_kwh == 999999.9
    assert ("rack1-b", "globex", utc(2026, 4, 9, 22)) in assignments  # 10 April, midnight in Paris
    assert ("rack1-a", "initech", utc(2026, 4, 3)) in assignments
    (tmp_path / "site.yaml").write_text(GOOD)
    assert sync(cm_engine, tmp_path, 4).updated == ["rack1-a", "rack1-b"]  # type: ignore[attr-defined]


def test_collectors_started_together_sync_new_endpoints_once(cm_engine: Engine, tmp_path: Path) -> None:
    """Three collectors on a fresh database sync the same 300 new endpoints at once: none fails on a
    duplicate key (the benchmark's three collectors did, one run in two), each endpoint is added once."""
    items = "".join(f"  - {{id: ep-{n:03d}, name: ep-{n:03d}, client: acme, scrape: {{preset: plain, url: 'http://127.0.0.1:9/m'}}}}\n"
                    for n in range(300))
    (tmp_path / "site.yaml").write_text(f"clients: [{{name: acme}}]\nendpoints:\n{items}")
    endpoints = load_endpoints(tmp_path)
    start = threading.Barrier(3)

    def collector() -> list[str]:
        start.wait()
        return sync_endpoints(cm_engine, endpoints, now=utc(2026, 4, 1), tz=PARIS, default_poll_s=900,
                              default_rollover_kwh=None, default_max_kw=None).added

    with ThreadPoolExecutor(3) as pool:
        added = [future.result() for future in [pool.submit(collector) for _ in range(3)]]
    assert sorted(len(names) for names in added) == [0, 0, 300]
    with cm_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(endpoint)).scalar_one() == 300
        assert conn.execute(select(func.count()).select_from(client_assignment)).scalar_one() == 300


def test_same_reading_twice_is_stored_once(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "e1")
    raw = RawReading("e1", utc(2026, 4, 1), True, raw_kwh=10.0)
    with cm_engine.begin() as conn:
        assert store_reading(conn, raw).inserted
        assert not store_reading(conn, raw).inserted
    with cm_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reading)).scalar_one() == 1


def test_late_reading_recomputes_later_ones(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "e1")
    with cm_engine.begin() as conn:
        store_reading(conn, RawReading("e1", utc(2026, 4, 1, 0), True, raw_kwh=10.0))
        store_reading(conn, RawReading("e1", utc(2026, 4, 1, 2), True, raw_kwh=2.0))  # looks like a reset
        store_reading(conn, RawReading("e1", utc(2026, 4, 1, 1), False, error_class="timeout"))
    with cm_engine.connect() as conn:
        rows = list(conn.execute(select(reading).order_by(reading.c.read_at)))
    assert [(r.cum_good, r.cum_failed, r.cum_events) for r in rows] == [(1, 0, 0), (1, 1, 0), (2, 1, 1)]
    assert rows[2].event == "reset" and rows[2].corrected_kwh == pytest.approx(12.0)


def unreachable_url(db_url: str, tmp_path: Path) -> str:
    """A URL to the same kind of database that cannot be reached right now."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    from tests.postgres_server import free_port

    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"


def test_spool_when_database_is_down_then_flush_twice_stores_once(cm_engine: Engine, db_url: str,
                                                                  tmp_path: Path) -> None:
    add_endpoint(cm_engine, "e1")
    spool = Spool(tmp_path / "spool")
    readings = [RawReading("e1", utc(2026, 4, 1, h), True, raw_kwh=100.0 + h) for h in range(3)]
    down = create_db_engine(unreachable_url(db_url, tmp_path))
    if db_url.startswith("sqlite"):
        shutil.rmtree(tmp_path / "no", ignore_errors=True)
        down.pool.dispose()
    for item in readings:
        try:
            with down.begin() as conn:
                store_reading(conn, item)
        except OperationalError:
            spool.append([item])
    down.dispose()
    assert spool.pending_count() == 3
    copy = (tmp_path / "spool" / "readings.jsonl").read_text()

    def store_all(batch: list[RawReading]) -> None:
        with cm_engine.begin() as conn:
            for item in batch:
                store_reading(conn, item)

    assert spool.flush(store_all) == 3 and spool.pending_count() == 0
    (tmp_path / "spool" / "readings.jsonl").write_text(copy)  # as if a crash left the file behind
    assert spool.flush(store_all) == 3
    with cm_engine.connect() as conn:
        stored = list(conn.execute(select(reading.c.raw_kwh, reading.c.corrected_kwh).order_by(reading.c.read_at)))
    assert [tuple(r) for r in stored] == [(100.0, 100.0), (101.0, 101.0), (102.0, 102.0)]
