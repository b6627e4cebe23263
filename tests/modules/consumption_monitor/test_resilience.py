"""Resilience of the collect job: database outage (spool, flush once), SIGKILL mid-run, batched writes, rollup."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from nxforge_modules.consumption_monitor import collect, queries
from nxforge_modules.consumption_monitor.corrections import record_correction
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.store import store_batch, store_reading
from nxforge_modules.consumption_monitor.tables import endpoint, reading, reading_hourly
from sqlalchemy import Engine, create_engine, func, select

from nxforge.collector.runner import Collector
from nxforge.metrics import REGISTRY
from nxforge.simulator import SimClock, Simulator
from tests.modules.consumption_monitor.conftest import add_endpoint, utc
from tests.postgres_server import PostgresServer
from tests.scale.helpers import fresh_database, make_site, plain_fleet

T0 = utc(2026, 4, 14, 9)
HOUR = timedelta(hours=1)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server this test may stop and start."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def _per_endpoint(engine: Engine) -> dict[str, list[tuple[object, bool]]]:
    found: dict[str, list[tuple[object, bool]]] = {}
    with engine.connect() as conn:
        for endpoint_id, read_at, success in conn.execute(
                select(reading.c.endpoint_id, reading.c.read_at, reading.c.success).order_by(reading.c.read_at)):
            found.setdefault(endpoint_id, []).append((read_at, success))
    return found


@pytest.mark.postgres
def test_database_outage_spools_and_flushes_once(own_postgres: PostgresServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    devices = plain_fleet(12)
    clock = SimClock(start=T0, frozen=True)
    url = fresh_database(own_postgres.url())
    with Simulator(devices, clock=clock) as sim:
        site = make_site(tmp_path, url, sim, devices, poll="1h", settings={"claim_batch": 4})
        platform = site.platform(clock=clock.now)
        try:
            assert [r.status for r in Collector(platform).run_due()] == ["ok"]  # T0: all stored

            # T0+1h: the server stops once the second batch is claimed. It is claimed while the first is still being
            # read (the engine gets its next batch before it runs dry), so the second batch, the rest and what of the
            # first was not stored yet go to the spool.
            clock.set(T0 + HOUR)
            real_claim = collect.claims.claim_due
            calls = []

            def claim_then_stop(*args: object, **kwargs: object) -> list[str]:
                claimed = real_claim(*args, **kwargs)  # type: ignore[arg-type]
                calls.append(claimed)
                if len(calls) == 2:
                    own_postgres.pg_ctl("stop")
                return claimed

            monkeypatch.setattr(collect.claims, "claim_due", claim_then_stop)
            # The collect job is declared offline: the run completes, only its execution record is lost.
            assert [r.status for r in Collector(platform).run_due()] == ["ok"]
            monkeypatch.setattr(collect.claims, "claim_due", real_claim)
            spool = collect.spool_for(platform.context("consumption-monitor"))
            first_outage = spool.pending_count()
            assert 8 <= first_outage <= 12

            # T0+2h, database still down: the collector runs the offline job, which reads all 12 into the spool.
            clock.set(T0 + 2 * HOUR)
            collector = Collector(platform)
            (offline_run,) = collector.run_due()
            summary = offline_run.summary
            assert collector.database_down and offline_run.execution_id is None
            assert summary["database"] == "unreachable" and summary["spooled"] == 12 and summary["total"] == 12
            spool_items = REGISTRY.get_sample_value("nxforge_spool_items", {"module": "consumption-monitor"})
            assert spool_items == first_outage + 12
            scrapes = {"module": "consumption-monitor", "endpoint": devices[0].id, "result": "ok"}
            assert (REGISTRY.get_sample_value("nxforge_scrapes_total", scrapes) or 0) >= 3
            assert spool.pending_count() == first_outage + 12
            kept = tmp_path / "spool-copy"
            shutil.copytree(spool.folder, kept)

            # T0+3h, server back: the run flushes the spool, then reads what is due.
            own_postgres.pg_ctl("start")
            clock.set(T0 + 3 * HOUR)
            runs = Collector(platform).run_due()
            assert [r.status for r in runs] == ["ok"] and runs[0].summary["flushed"] == first_outage + 12
            assert runs[0].summary["total"] == 12 and spool.pending_count() == 0

            # The same spool flushed a second time stores nothing new.
            for path in kept.glob("*.json*"):
                shutil.copy(path, spool.folder / "readings.jsonl")
            assert collect.flush_spool(platform.context("consumption-monitor")) == first_outage + 12
            per_endpoint = _per_endpoint(platform.engine)
            with platform.engine.connect() as conn:
                due = {row.id: row.next_due_at for row in conn.execute(select(endpoint.c.id, endpoint.c.next_due_at))}
        finally:
            platform.close()
    assert sorted(per_endpoint) == [d.id for d in devices]
    for endpoint_id, rows in per_endpoint.items():
        assert [at for at, _ in rows] == [T0 + k * HOUR for k in range(4)], endpoint_id
        assert all(ok for _, ok in rows), endpoint_id
        assert due[endpoint_id] == T0 + 4 * HOUR


@pytest.mark.postgres
def test_sigkill_mid_run_leaves_nothing_half_written(postgres_admin_url: str, tmp_path: Path) -> None:
    devices = plain_fleet(30)
    url = fresh_database(postgres_admin_url)
    engine = create_engine(url)
    with Simulator(devices) as sim:
        for spec in devices[10:]:
            sim.device(spec.id).set_fault("slow", delay=1.5)  # the run lasts long enough to be killed mid-way
        site = make_site(tmp_path, url, sim, devices, poll="1h",
                         settings={"claim_lease": "3s", "claim_batch": 10, "write_batch": 5}, scrape={"retries": 0})
        victim = site.collector("--once")
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    stored = conn.execute(select(func.count()).select_from(reading)).scalar_one()
                    claimed = conn.execute(select(func.count()).select_from(endpoint).where(
                        endpoint.c.claimed_by.like(f"%:{victim.pid}:%"))).scalar_one()
                if stored >= 10 and claimed:
                    break
                time.sleep(0.02)
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
        finally:
            if victim.poll() is None:
                victim.kill()
        assert stored >= 10 and claimed, "the collector was not caught mid-run"
        with engine.connect() as conn:
            rows = conn.execute(select(reading.c.endpoint_id, reading.c.success, reading.c.corrected_kwh,
                                       reading.c.cum_good)).fetchall()
        # Every stored reading is whole (counter and totals written with it) and none twice.
        assert len({r.endpoint_id for r in rows}) == len(rows)
        assert all(r.success and r.corrected_kwh is not None and r.cum_good == 1 for r in rows)
        time.sleep(3.5)  # the dead collector's lease runs out
        for spec in devices:
            sim.device(spec.id).clear_fault("slow")
        follower = site.collector("--once", "--job", "collect")  # cron's next minute; the job is not due yet
        assert follower.wait(120) == 0
    per_endpoint = _per_endpoint(engine)
    with engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(endpoint).where(endpoint.c.claimed_by.is_not(None)))
        assert left.scalar_one() == 0
    engine.dispose()
    assert sorted(per_endpoint) == [d.id for d in devices]
    assert all(len(rows) == 1 and rows[0][1] for rows in per_endpoint.values())


def _raw(endpoint_id: str, at: object, kwh: float | None, power_w: float | None = None) -> RawReading:
    if kwh is None:
        return RawReading(endpoint_id, at, False, error_class="unreachable")  # type: ignore[arg-type]
    return RawReading(endpoint_id, at, True, raw_kwh=kwh, power_w=power_w)  # type: ignore[arg-type]


def test_batched_writes_equal_one_by_one(cm_engine: Engine) -> None:
    for name in ("one", "many"):
        for n in range(3):
            add_endpoint(cm_engine, f"{name}-{n}", circuit_max_kw=10.0)
    series = {n: [(T0 + k * timedelta(minutes=15), None if k == 3 else 100.0 + k * (n + 1) - (60 if k == 6 else 0))
                  for k in range(10)] for n in range(3)}
    for n, points in series.items():
        for at, kwh in points:
            with cm_engine.begin() as conn:
                store_reading(conn, _raw(f"one-{n}", at, kwh, 1000.0))
    for k in range(10):
        with cm_engine.begin() as conn:
            outcomes = store_batch(conn, [_raw(f"many-{n}", *series[n][k], 1000.0) for n in range(3)])
            assert all(o.inserted for o in outcomes)
    with cm_engine.begin() as conn:  # a batch written twice stores nothing new
        assert not any(o.inserted for o in store_batch(conn, [_raw(f"many-{n}", *series[n][9]) for n in range(3)]))
    columns = ["read_at", "success", "corrected_kwh", "offset_kwh", "event", "estimated_kwh", "cum_good",
               "cum_failed", "cum_events", "cum_estimated_kwh"]
    with cm_engine.connect() as conn:
        frame = pl.DataFrame([r._asdict() for r in conn.execute(
            select(reading.c.endpoint_id, *(reading.c[c] for c in columns)).order_by(reading.c.endpoint_id,
                                                                                     reading.c.read_at))])
    for n in range(3):
        one = frame.filter(pl.col("endpoint_id") == f"one-{n}").drop("endpoint_id")
        many = frame.filter(pl.col("endpoint_id") == f"many-{n}").drop("endpoint_id")
        assert one.equals(many), n
    assert frame.filter(pl.col("event") == "reset").height == 6


def test_hourly_rollup_equals_the_readings_aggregated(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "a", circuit_max_kw=20.0)
    add_endpoint(cm_engine, "b", circuit_max_kw=20.0)
    start = utc(2026, 3, 30, 22, 5)
    times = [start + timedelta(minutes=7 * k) for k in range(60)]
    for k, at in enumerate(times):
        with cm_engine.begin() as conn:
            store_batch(conn, [_raw("a", at, None if k % 11 == 5 else 50.0 + k * 0.7, 4000.0 + k),
                               _raw("b", at, 10.0 + k * 0.3 if k != 30 else 0.4, 1500.0)])
    with cm_engine.begin() as conn:  # a late reading (spool flush) rebuilds the hours after it
        store_reading(conn, _raw("b", times[10] + timedelta(minutes=3), 13.2, 1600.0))
    record_correction(cm_engine, "a", at=times[40], delta_kwh=5.0, who="ops", why="test", recorded_at=times[-1])

    with cm_engine.connect() as conn:
        raw = pl.DataFrame([r._asdict() for r in conn.execute(
            select(reading.c.endpoint_id, reading.c.read_at, reading.c.corrected_kwh, reading.c.power_w))])
        stored = pl.DataFrame([r._asdict() for r in conn.execute(select(reading_hourly))])
    usable = pl.col("corrected_kwh").is_not_null()
    expected = (
        raw.with_columns(pl.col("read_at").dt.truncate("1h").alias("hour"))
        .sort("read_at")
        .group_by("endpoint_id", "hour").agg(
            pl.col("read_at").filter(usable).min().alias("first_at"),
            pl.col("read_at").filter(usable).max().alias("last_at"),
            pl.col("corrected_kwh").filter(usable).first().alias("first_kwh"),
            pl.col("corrected_kwh").filter(usable).last().alias("last_kwh"),
            usable.sum().cast(pl.Int64).alias("good"), (~usable).sum().cast(pl.Int64).alias("failed"),
            pl.col("power_w").filter(usable).sum().alias("power_sum_w"),
            pl.col("power_w").filter(usable).count().cast(pl.Int64).alias("power_n"),
            pl.col("power_w").filter(usable).max().alias("power_max_w"),
        )
    )
    key = ["endpoint_id", "hour"]
    got = stored.select(expected.columns).with_columns(pl.col("good", "failed", "power_n").cast(pl.Int64))
    assert got.sort(key).equals(expected.select(got.columns).sort(key)) or _close(got.sort(key),
                                                                                   expected.sort(key))
    # The History page's long-range query: hourly energy sums to the counter's difference.
    frame = queries.history_rollup(cm_engine, ["a", "b"], start, times[-1] + timedelta(hours=1))
    for endpoint_id in ("a", "b"):
        mine = raw.filter((pl.col("endpoint_id") == endpoint_id) & usable).sort("read_at")
        rows = frame.filter(pl.col("endpoint_id") == endpoint_id)
        total = mine["corrected_kwh"][-1] - mine["corrected_kwh"][0]
        assert rows["kwh"].sum() == pytest.approx(total)
    daily = queries.history_rollup(cm_engine, ["a"], start, times[-1] + timedelta(hours=1), bucket="day")
    assert daily["kwh"].sum() == pytest.approx(frame.filter(pl.col("endpoint_id") == "a")["kwh"].sum())


def _close(got: pl.DataFrame, expected: pl.DataFrame) -> bool:
    assert got.height == expected.height
    for column in got.columns:
        left, right = got[column].to_list(), expected[column].to_list()
        if got[column].dtype == pl.Float64:
            assert left == pytest.approx(right), column
        else:
            assert left == right, column
    return True
