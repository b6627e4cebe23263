"""A counter stopped at its declared ceiling (Vertiv/Geist: 9,999,000 Wh) is held, not billed (issue 15).

The simulator's Vertiv outlet is read through its preset by the real collector up to the ceiling,
reset through the device, and billed: the stuck stretch is a gap (estimated, not covered), never
0 kWh measured. The store, recompute, spool and migration paths are checked on their own too.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from nxforge_modules.consumption_monitor.billing import billing_by_endpoint
from nxforge_modules.consumption_monitor.counters import CounterRules, CounterState, CounterWalk
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.spool import Spool
from nxforge_modules.consumption_monitor.store import ensure_partitions, recompute_from, store_batch
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from nxforge.collector.runner import Collector
from nxforge.db.schema import events
from nxforge.environment import Environment
from nxforge.migrations.runner import migrate_module
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import OUTLET_ENERGY
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import MODULE_DIR, add_endpoint, hourly, utc, write

START = utc(2026, 5, 4)
CEILING_KWH = 9999.0
PRESET = "vertiv-geist-outlet-snmp"
# Outlet 2 of 8 carries 2/36 of the PDU: 18 kW and 179,937 kWh put it at 1 kW and 9,996.5 kWh.
PDU = DeviceSpec("geist-pdu", "geist", power_kw=18.0, initial_kwh=18 * 9996.5)


def events_of(engine: Engine, endpoint_id: str) -> list[tuple[float | None, float | None, str | None]]:
    with engine.connect() as conn:
        return [(row.raw_kwh, row.corrected_kwh, row.event) for row in conn.execute(
            select(reading.c.raw_kwh, reading.c.corrected_kwh, reading.c.event)
            .where(reading.c.endpoint_id == endpoint_id).order_by(reading.c.read_at))]


# ----- the rule -------------------------------------------------------------------------------

def test_a_value_at_the_ceiling_is_held_and_the_walk_stays_on_the_last_good_reading() -> None:
    state = CounterState(START, 9998.5, 11_500.0, 1501.5, 1.0)
    walk = CounterWalk(state, CounterRules(circuit_max_kw=5.0))
    held = walk.read(CEILING_KWH, START + timedelta(hours=1), ceiling_kwh=CEILING_KWH)
    assert held is not None and not held.usable and held.event == "ceiling" and held.offset_kwh == 1501.5
    assert walk.state == state
    above = walk.read(CEILING_KWH + 0.5, START + timedelta(hours=2), ceiling_kwh=CEILING_KWH)
    assert above is not None and above.event == "ceiling"
    below = CounterWalk(state, CounterRules(circuit_max_kw=5.0)).read(9998.9, START + timedelta(hours=1),
                                                                      ceiling_kwh=CEILING_KWH)
    assert below is not None and below.usable and below.event is None
    reset = walk.read(0.5, START + timedelta(hours=4), ceiling_kwh=CEILING_KWH)
    assert reset is not None and reset.event == "reset" and reset.estimated_kwh == pytest.approx(3.5)
    assert reset.corrected_kwh == pytest.approx(11_500.0 + 3.5 + 0.5)


def test_spooled_readings_keep_the_ceiling_and_older_spool_lines_still_load(tmp_path: Path) -> None:
    raw = RawReading("geist", START, True, raw_kwh=CEILING_KWH, ceiling_kwh=CEILING_KWH)
    spool = Spool(tmp_path / "spool")
    spool.append([raw])
    flushed: list[RawReading] = []
    assert spool.flush(flushed.extend) == 1
    assert flushed == [raw]
    older = {key: value for key, value in raw.to_json().items() if key != "ceiling_kwh"}  # before issue 15
    assert RawReading.from_json(older) == dataclasses.replace(raw, ceiling_kwh=None)


# ----- store, batch and recompute (SQLite and PostgreSQL) ---------------------------------------

def test_ceiling_readings_are_stored_unusable_and_stay_so_when_recomputed(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "geist", circuit_max_kw=5.0, rollover_kwh=None, poll_interval_s=3600.0)
    at = hourly(START, 8)
    for when, kwh in zip(at[:3], (9996.5, 9997.5, 9998.5), strict=True):
        write(cm_engine, "geist", when, kwh, ceiling_kwh=CEILING_KWH)
    with cm_engine.begin() as conn:  # the collector's batched path
        outcomes = store_batch(conn, [RawReading("geist", at[3], True, raw_kwh=CEILING_KWH, ceiling_kwh=CEILING_KWH)])
    assert outcomes[0].corrected is not None and outcomes[0].corrected.event == "ceiling"
    for when, kwh in zip(at[4:], (CEILING_KWH, CEILING_KWH, 0.5, 1.5), strict=True):
        write(cm_engine, "geist", when, kwh, ceiling_kwh=CEILING_KWH)
    expected = [(9996.5, 9996.5, None), (9997.5, 9997.5, None), (9998.5, 9998.5, None),
                (CEILING_KWH, None, "ceiling"), (CEILING_KWH, None, "ceiling"), (CEILING_KWH, None, "ceiling"),
                (0.5, pytest.approx(10_002.5), "reset"), (1.5, pytest.approx(10_003.5), None)]
    assert events_of(cm_engine, "geist") == expected
    with cm_engine.begin() as conn:  # a late change walks the stored readings again: still held
        assert recompute_from(conn, "geist", at[0]) == 8
    assert events_of(cm_engine, "geist") == expected


def test_the_stuck_stretch_is_estimated_once(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "geist", circuit_max_kw=5.0, rollover_kwh=None, poll_interval_s=3600.0)
    at = hourly(START, 8)
    for when, kwh in zip(at, (9996.5, 9997.5, 9998.5, CEILING_KWH, CEILING_KWH, CEILING_KWH, 0.5, 1.5), strict=True):
        write(cm_engine, "geist", when, kwh, ceiling_kwh=CEILING_KWH)
    row = billing_by_endpoint(cm_engine, (at[0], at[7]), ZoneInfo("UTC"), at[7]).row(0, named=True)
    assert (row["kwh"], row["covered_hours"]) == (pytest.approx(7.0), pytest.approx(3.0))
    assert row["estimated_kwh"] == pytest.approx(4.0)  # the 4 h gap 02:00..06:00, by the gap rule, once


# ----- the migration ------------------------------------------------------------------------------

def test_the_migration_admits_ceiling_and_keeps_every_reading(engine: Engine, tmp_path: Path) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in (MODULE_DIR / "migrations").glob("*.sql"):
        if path.name < "050":
            shutil.copy(path, before / path.name)
    migrate_module(engine, "consumption-monitor", before)
    add_endpoint(engine, "old", rollover_kwh=None)
    with engine.begin() as conn:  # as the code of that time stored it (today's store needs later columns)
        ensure_partitions(conn, START, START)
        conn.execute(insert(reading).values(endpoint_id="old", read_at=START, success=True, raw_kwh=100.0,
                                            corrected_kwh=100.0, offset_kwh=0.0, cum_good=1, reading_key="old@0"))
    row = {"endpoint_id": "old", "read_at": START + timedelta(hours=1), "success": True, "raw_kwh": CEILING_KWH,
           "event": "ceiling", "reading_key": "old@held"}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(reading).values(**row))
    assert migrate_module(engine, "consumption-monitor", MODULE_DIR / "migrations")[0] == "050_reading_ceiling"
    with engine.begin() as conn:
        conn.execute(insert(reading).values(**row))
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(insert(reading).values(**{**row, "event": "stuck", "reading_key": "old@stuck"}))
    write(engine, "old", START + timedelta(hours=2), 101.0)
    assert events_of(engine, "old") == [(100.0, 100.0, None), (CEILING_KWH, None, "ceiling"), (101.0, 101.0, None)]


# ----- the whole path: the simulator's Vertiv outlet, the collector, the bill ------------------------

@pytest.fixture
def platform(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Platform, Simulator]]:
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({"timezone": "UTC"}))
    clock = SimClock(start=START, frozen=True)
    with Simulator([PDU], clock=clock) as sim:
        monkeypatch.setenv("SNMP_COMMUNITY", sim.snmp_credentials.community)
        scrape = {"preset": PRESET, "url": sim.snmp_url(PDU.id), "timeout_s": 5, "retries": 0,
                  "values": {"total_kwh": {"selector": ".".join(map(str, OUTLET_ENERGY[PRESET].oid(2)))}},
                  "snmp": {"walk_cache_s": 0}}
        site = {"clients": [{"name": "acme"}],
                "endpoints": [{"id": "rack-7", "name": "Rack 7 outlet 2", "client": "acme", "poll_interval": "1h",
                               "circuit_max_kw": 5.0, "scrape": scrape}]}
        folder = env.config_dir / "consumption-monitor"
        folder.mkdir(parents=True)
        (folder / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
        built = Platform(env, clock=clock.now)
        enable_module(built, "consumption-monitor", "tests")
        try:
            yield built, sim
        finally:
            built.close()


def test_a_vertiv_outlet_at_its_ceiling_is_held_announced_once_and_billed_as_a_gap(
        platform: tuple[Platform, Simulator]) -> None:
    nx, sim = platform
    collector = Collector(nx)
    for hour in range(9):
        if hour == 6:  # ops reset the outlet's meter on the PDU half an hour before
            sim.clock.set(START + timedelta(hours=5, minutes=30))
            sim.device(PDU.id).set_fault("reset")
        sim.clock.set(START + timedelta(hours=hour))
        assert [(run.job, run.status) for run in collector.run_due()] == [("collect", "ok")]
    with nx.engine.connect() as conn:
        assert conn.execute(select(endpoint.c.rollover_kwh).where(endpoint.c.id == "rack-7")).scalar_one() is None
        announced = [(row.kind, row.message) for row in conn.execute(
            select(events.c.kind, events.c.message).where(events.c.kind.in_(("meter.ceiling", "meter.reset")))
            .order_by(events.c.at))]
    stored = events_of(nx.engine, "rack-7")
    truth = [9996.5 + hour for hour in range(9)]
    assert stored[:3] == [(kwh, pytest.approx(kwh), None) for kwh in truth[:3]]
    assert stored[3:6] == [(CEILING_KWH, None, "ceiling")] * 3  # stopped: held, not billed
    assert stored[6:] == [(0.5, pytest.approx(truth[6]), "reset"), (1.5, pytest.approx(truth[7]), None),
                          (2.5, pytest.approx(truth[8]), None)]
    assert [kind for kind, _ in announced] == ["meter.ceiling", "meter.reset"]  # once for the stretch
    assert "reset it on the device" in announced[0][1]

    end = START + timedelta(hours=8)
    row = billing_by_endpoint(nx.engine, (START, end), ZoneInfo("UTC"), end).row(0, named=True)
    assert row["kwh"] == pytest.approx(8.0, abs=0.01)  # the truth: 1 kW for 8 hours
    assert row["covered_hours"] == pytest.approx(4.0, abs=0.01)  # the four stuck hours are not covered
    assert row["estimated_kwh"] >= 4.0 - 0.01  # their energy is estimated (gap rule), never measured
    assert (row["readings_used"], row["failed_reads"], row["resets_folded"]) == (5, 3, 1)
