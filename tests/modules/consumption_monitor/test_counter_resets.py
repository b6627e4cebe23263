"""Resets decided, not guessed (issue 15): the device's own reset time, and counters that cannot be reset.

Redfish PDUs say when their energy counter last restarted (``SensorResetTime``); the presets point
``counter.reset_time`` at it. A later time is a reset at that moment even when the counter has
since climbed past its old value (which a drop-based rule misses), and the energy before it is
estimated over the known stretch only; the same time with a lower value is no reset and is held.
A counter declared ``resettable: false`` (Redfish ``LifetimeReading``) never has a drop folded as
a reset. Checked on the rule, on both write paths and the recomputation (SQLite and PostgreSQL),
through the spool, on the http engine against the simulator's Redfish face, and through the real
collector to the bill, over Redfish and over SNMP (Eaton's ``inputTotalWhTimer``, Unix seconds).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from nxforge_modules.consumption_monitor.billing import billing_by_endpoint
from nxforge_modules.consumption_monitor.counters import CounterRules, CounterWalk
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.spool import Spool
from nxforge_modules.consumption_monitor.store import recompute_from, store_batch, store_reading
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import Engine, select, update

from nxforge.collector.runner import Collector
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapingEngine
from nxforge.scraping.document import Document
from nxforge.scraping.errors import ScrapeFailure
from nxforge.scraping.reading import read_values
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import add_endpoint, utc

START = utc(2026, 6, 1)
BOOT = utc(2026, 5, 1)  # when the counter last restarted, as the device says at first
MAINS = "redfish/v1/PowerEquipment/RackPDUs/1/Mains/AA"


def rows_of(engine: Engine, endpoint_id: str) -> list[tuple[float | None, float | None, str | None, float]]:
    with engine.connect() as conn:
        return [(row.raw_kwh, row.corrected_kwh, row.event, row.estimated_kwh) for row in conn.execute(
            select(reading.c.raw_kwh, reading.c.corrected_kwh, reading.c.event, reading.c.estimated_kwh)
            .where(reading.c.endpoint_id == endpoint_id).order_by(reading.c.read_at))]


# ----- the rule -------------------------------------------------------------------------------

def test_an_announced_reset_is_caught_even_when_the_counter_climbed_past_its_old_value() -> None:
    walk = CounterWalk(None, CounterRules())
    walk.read(10.0, START, reset_at=BOOT)
    walk.read(12.0, START + timedelta(hours=1), reset_at=BOOT)  # 2 kW
    reset_at = START + timedelta(hours=1, minutes=30)
    # Collector down until noon; the counter restarted at 01:30 and counted 10.5 h x 2 kW = 21 kWh since.
    after = walk.read(21.0, START + timedelta(hours=12), reset_at=reset_at)
    assert after is not None and after.event == "reset"
    assert after.estimated_kwh == pytest.approx(1.0)  # 2 kW over the 30 known minutes before the reset
    assert after.corrected_kwh == pytest.approx(12.0 + 1.0 + 21.0)  # the truth: 10 + 2 kW x 12 h
    # Judged by its values alone the same reading is a plain rise of 9 kWh: 13 kWh never billed.
    blind = CounterWalk(None, CounterRules())
    blind.read(10.0, START)
    blind.read(12.0, START + timedelta(hours=1))
    missed = blind.read(21.0, START + timedelta(hours=12))
    assert missed is not None and missed.event is None and missed.corrected_kwh == pytest.approx(21.0)


def test_a_drop_the_device_does_not_date_is_held_and_the_next_reading_goes_on_from_the_last_good() -> None:
    walk = CounterWalk(None, CounterRules())
    walk.read(500.0, START, reset_at=BOOT)
    held = walk.read(5.0, START + timedelta(hours=1), reset_at=BOOT)  # lower, same reset time: a glitch
    assert held is not None and (held.corrected_kwh, held.event) == (None, "implausible")
    back = walk.read(502.0, START + timedelta(hours=2), reset_at=BOOT)
    assert back is not None and (back.corrected_kwh, back.event) == (pytest.approx(502.0), None)


def test_a_reset_time_re_dated_by_the_device_is_judged_by_the_value_not_billed_twice() -> None:
    walk = CounterWalk(None, CounterRules())
    walk.read(10.0, START, reset_at=BOOT)
    walk.read(12.0, START + timedelta(hours=1), reset_at=BOOT)
    # The card's zone corrected: the same restart now reads one hour later, still long before the last
    # reading. The counter went on (2 kW); counting 12 kWh again as energy before a reset would bill it twice.
    later = walk.read(14.0, START + timedelta(hours=2), reset_at=BOOT + timedelta(hours=1))
    assert later is not None and (later.event, later.corrected_kwh) == (None, pytest.approx(14.0))
    # The clock set back (or the zone corrected the other way), and a real reset the device dates in that
    # clock: an earlier date than before cannot say "no reset since", so the drop is judged as undated.
    earlier = walk.read(1.0, START + timedelta(hours=3), reset_at=BOOT - timedelta(days=300))
    assert earlier is not None and earlier.event == "reset"
    assert earlier.corrected_kwh == pytest.approx(14.0 + 1.0 + earlier.estimated_kwh)
    # A reset dated a few minutes before the last reading by a lagging clock is still a new one.
    lagging = CounterWalk(None, CounterRules())
    lagging.read(10.0, START, reset_at=BOOT)
    caught = lagging.read(30.0, START + timedelta(hours=10), reset_at=START - timedelta(minutes=5))
    assert caught is not None and caught.event == "reset" and caught.corrected_kwh == pytest.approx(40.0)


def test_a_counter_that_cannot_be_reset_never_has_a_drop_folded() -> None:
    walk = CounterWalk(None, CounterRules(resettable=False))
    walk.read(500.0, START)
    held = walk.read(3.0, START + timedelta(hours=1))
    assert held is not None and (held.corrected_kwh, held.event, held.estimated_kwh) == (None, "implausible", 0.0)
    assert walk.state is not None and walk.state.raw_kwh == 500.0
    # A declared wrap is still a wrap: the register's width says so, not a reset.
    wrapping = CounterWalk(None, CounterRules(resettable=False, rollover_kwh=1000.0))
    wrapping.read(999.5, START)
    wrapped = wrapping.read(0.5, START + timedelta(hours=1))
    assert wrapped is not None and (wrapped.event, wrapped.corrected_kwh) == ("rollover", pytest.approx(1000.5))
    # The same drop on a resettable counter is a reset (the rule for devices that say nothing).
    plain = CounterWalk(None, CounterRules())
    plain.read(500.0, START)
    assert (plain.read(3.0, START + timedelta(hours=1)) or held).event == "reset"


# ----- storage, both dialects -----------------------------------------------------------------

def _raw(endpoint_id: str, at: datetime, kwh: float, reset_at: datetime | None) -> RawReading:
    return RawReading(endpoint_id, at, True, raw_kwh=kwh, counter_reset_at=reset_at)


def test_both_write_paths_and_the_recomputation_agree(cm_engine: Engine) -> None:
    reset_at = START + timedelta(hours=1, minutes=30)
    series = [(START, 10.0, BOOT), (START + timedelta(hours=1), 12.0, BOOT),
              (START + timedelta(hours=12), 21.0, reset_at), (START + timedelta(hours=13), 23.0, reset_at),
              (START + timedelta(hours=14), 4.0, reset_at)]  # lower, same reset time: held
    expected = [(10.0, pytest.approx(10.0), None, 0.0), (12.0, pytest.approx(12.0), None, 0.0),
                (21.0, pytest.approx(34.0), "reset", pytest.approx(1.0)), (23.0, pytest.approx(36.0), None, 0.0),
                (4.0, None, "implausible", 0.0)]
    for name in ("batched", "single"):
        add_endpoint(cm_engine, name, rollover_kwh=None)
        for at, kwh, since in series:
            with cm_engine.begin() as conn:
                if name == "batched":
                    store_batch(conn, [_raw(name, at, kwh, since)])
                else:
                    store_reading(conn, _raw(name, at, kwh, since))
        assert rows_of(cm_engine, name) == expected
    with cm_engine.begin() as conn:
        recompute_from(conn, "batched", START)
    assert rows_of(cm_engine, "batched") == expected  # the stored reset times give the same walk again


def test_an_endpoint_declared_not_resettable_holds_a_drop_on_store_and_recompute(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "life", rollover_kwh=None)
    with cm_engine.begin() as conn:
        assert conn.execute(select(endpoint.c.resettable).where(endpoint.c.id == "life")).scalar_one() is True
        conn.execute(update(endpoint).where(endpoint.c.id == "life").values(resettable=False))
    for hour, kwh in enumerate([800.0, 801.0, 2.0, 803.0]):
        with cm_engine.begin() as conn:
            store_batch(conn, [_raw("life", START + timedelta(hours=hour), kwh, None)])
    expected = [(800.0, pytest.approx(800.0), None, 0.0), (801.0, pytest.approx(801.0), None, 0.0),
                (2.0, None, "implausible", 0.0), (803.0, pytest.approx(803.0), None, 0.0)]
    assert rows_of(cm_engine, "life") == expected
    with cm_engine.begin() as conn:
        recompute_from(conn, "life", START)
    assert rows_of(cm_engine, "life") == expected


def test_a_spooled_reading_keeps_its_reset_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    dated = _raw("x", START, 1.0, START - timedelta(minutes=5))
    spool.append([dated, _raw("y", START, 2.0, None)])
    flushed: list[RawReading] = []
    spool.flush(flushed.extend)
    assert flushed == [dated, _raw("y", START, 2.0, None)]


# ----- the engine: the simulator's Redfish face -------------------------------------------------

@pytest.fixture
def redfish(tmp_path: Path) -> Iterator[tuple[Simulator, ScrapingEngine]]:
    device = DeviceSpec("rf", "plain", power_kw=2.0, initial_kwh=10.0, password="Rf-pass-7")
    with Simulator([device], clock=SimClock(start=START, frozen=True)) as sim, \
            ScrapingEngine(secrets=SecretStore(environ={"REDFISH_PASSWORD": "Rf-pass-7"}),
                           evidence_dir=tmp_path / "evidence", state_dir=tmp_path / "state") as engine:
        yield sim, engine


def test_the_http_engine_reads_the_reset_time_the_pdu_announces(redfish: tuple[Simulator, ScrapingEngine]) -> None:
    sim, engine = redfish

    def read(preset: str) -> tuple[float, datetime | None, bool]:
        config = ScrapeConfig.model_validate({"preset": preset, "url": sim.url_for("rf") + MAINS, "retries": 0})
        result = engine.scrape(ScrapeRequest(key="rf", config=config))
        assert result.ok, result.error
        value = result.values["total_kwh"]
        assert value.counter is not None
        return value.value, value.counter.reset_at, value.counter.resettable

    sim.clock.set(START + timedelta(hours=1))
    assert read("redfish-pdu-mains") == (pytest.approx(12.0), START, True)
    sim.clock.set(START + timedelta(hours=1, minutes=30))
    sim.device("rf").set_fault("reset")
    sim.clock.set(START + timedelta(hours=2))
    assert read("redfish-pdu-mains") == (pytest.approx(1.0), START + timedelta(hours=1, minutes=30), True)
    assert read("redfish-pdu-mains-lifetime") == (pytest.approx(14.0), None, False)  # never reset, no signal


def test_a_reset_time_that_is_not_a_dated_instant_fails_the_reading() -> None:
    config = ScrapeConfig.model_validate({"preset": "redfish-pdu-mains", "url": "https://pdu/redfish/v1/x"})
    body = '{"EnergykWh": {"Reading": 5.5, "SensorResetTime": "%s"}}'
    ok = read_values(config, Document("https://pdu/x", body % "2026-05-01T00:00:00+02:00", "application/json"))
    assert ok["total_kwh"].counter is not None
    assert ok["total_kwh"].counter.reset_at == datetime(2026, 4, 30, 22, tzinfo=UTC)
    for bad in ("yesterday", "2026-05-01T00:00:00"):  # no offset: which zone would be a guess
        with pytest.raises(ScrapeFailure, match="reset time"):
            read_values(config, Document("https://pdu/x", body % bad, "application/json"))
    silent = read_values(config, Document("https://pdu/x", '{"EnergykWh": {"Reading": 5.5}}', "application/json"))
    assert silent["total_kwh"].counter is not None and silent["total_kwh"].counter.reset_at is None


def test_config_check_refuses_a_reset_time_where_it_cannot_be_read() -> None:
    with pytest.raises(ValueError, match=r"'\$\.x' is not a numeric OID"):  # SNMP reads it from an OID
        ScrapeConfig.model_validate({"preset": "snmp-counter", "url": "snmp://10.0.0.5",
                                     "values": {"total_kwh": {"selector": "1.3.6.1.4.1.1.1", "counter": {
                                         "unit": "Wh", "reset_time": "$.x"}}}})
    with pytest.raises(ValueError, match="not engine modbus"):
        ScrapeConfig.model_validate({"preset": "schneider-pm5xxx", "url": "modbus://10.0.0.6", "values": {
            "total_kwh": {"counter": {"reset_time": "1.3.6.1"}}}})
    with pytest.raises(ValueError, match=r"values.total_kwh: counter.reset_time 1.3.6 has no column"):
        ScrapeConfig.model_validate({"preset": "eaton-epdu-outlet-snmp", "url": "snmp://10.0.0.5", "values": {
            "total_kwh": {"counter": {"reset_time": "1.3.6"}}}})  # walked beside the value: by its column
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Pariss'"):
        ScrapeConfig.model_validate({"preset": "apc-rpdu2-snmp", "url": "snmp://10.0.0.5", "values": {
            "total_kwh": {"counter": {"reset_time": "1.3.6.1.4.1.318.1.1.26.4.3.1.10.1",
                                      "reset_time_zone": "Europe/Pariss"}}}})
    with pytest.raises(ValueError, match="needs resettable: true"):
        ScrapeConfig.model_validate({"url": "https://pdu/x", "engine": "http", "values": {"total_kwh": {
            "selector": "$.a", "counter": {"resettable": False, "reset_time": "$.b"}}}})


# ----- the whole path: collector, storage, bill ---------------------------------------------------

@pytest.fixture
def site(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Platform, Simulator]]:
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({"timezone": "UTC"}))
    device = DeviceSpec("pdu-9", "plain", power_kw=2.0, initial_kwh=10.0)
    with Simulator([device], clock=SimClock(start=START, frozen=True)) as sim:
        monkeypatch.setenv("REDFISH_PASSWORD", device.password)
        monkeypatch.setenv("SNMP_COMMUNITY", sim.snmp_credentials.community)
        endpoints = [{"id": f"rack-9-{kind}", "name": f"Rack 9 {kind}", "client": "acme", "poll_interval": "1h",
                      "scrape": {"preset": preset, "url": sim.url_for("pdu-9") + MAINS, "retries": 0}}
                     for kind, preset in (("reading", "redfish-pdu-mains"), ("lifetime", "redfish-pdu-mains-lifetime"))]
        endpoints.append({"id": "rack-9-snmp", "name": "Rack 9 over SNMP", "client": "acme", "poll_interval": "1h",
                          "scrape": {"preset": "eaton-epdu-snmp", "url": sim.snmp_url("pdu-9"), "retries": 0}})
        folder = env.config_dir / "consumption-monitor"
        folder.mkdir(parents=True)
        (folder / "site.yaml").write_text(yaml.safe_dump({"clients": [{"name": "acme"}], "endpoints": endpoints}))
        built = Platform(env, clock=sim.clock.now)
        enable_module(built, "consumption-monitor", "tests")
        try:
            yield built, sim
        finally:
            built.close()


def test_a_reset_the_pdu_dates_is_billed_as_the_truth_through_the_collector(site: tuple[Platform, Simulator]) -> None:
    nx, sim = site
    collector = Collector(nx)
    for at in (START, START + timedelta(hours=1), "reset", START + timedelta(hours=12), START + timedelta(hours=13)):
        if at == "reset":  # someone resets the PDU's meter at 01:30; the collector is down until noon
            sim.clock.set(START + timedelta(hours=1, minutes=30))
            sim.device("pdu-9").set_fault("reset")
            continue
        assert isinstance(at, datetime)
        sim.clock.set(at)
        assert [(run.job, run.status) for run in collector.run_due()] == [("collect", "ok")]
    with nx.engine.connect() as conn:
        declared = dict(conn.execute(select(endpoint.c.id, endpoint.c.resettable)).all())
    assert declared == {"rack-9-reading": True, "rack-9-lifetime": False, "rack-9-snmp": True}
    for dated in ("rack-9-reading", "rack-9-snmp"):  # the Redfish reset time, and Eaton's Unix seconds over SNMP
        assert rows_of(nx.engine, dated) == [
            (10.0, pytest.approx(10.0), None, 0.0), (12.0, pytest.approx(12.0), None, 0.0),
            (21.0, pytest.approx(34.0), "reset", pytest.approx(1.0)), (23.0, pytest.approx(36.0), None, 0.0)], dated
    end = START + timedelta(hours=12)
    billed = {row["endpoint_id"]: row for row in billing_by_endpoint(
        nx.engine, (START, end), ZoneInfo("UTC"), end).iter_rows(named=True)}
    truth = sim.true_energy_kwh("pdu-9", end) - sim.true_energy_kwh("pdu-9", START)
    assert truth == pytest.approx(24.0)
    assert billed["rack-9-reading"]["kwh"] == pytest.approx(truth, abs=1e-6)
    assert billed["rack-9-snmp"]["kwh"] == pytest.approx(truth, abs=1e-6)
    # The gap 01:00-12:00 is spread linearly and counted as estimated (the coverage rule): its 22 kWh rise,
    # which holds the reset's own 1.0 once, whether the closing reading is inside the period or on its end.
    assert billed["rack-9-reading"]["estimated_kwh"] == pytest.approx(22.0, abs=1e-6)
    later = START + timedelta(hours=13)
    row = billing_by_endpoint(nx.engine, (START, later), ZoneInfo("UTC"), later).filter(
        endpoint_id="rack-9-reading").row(0, named=True)
    assert (row["kwh"], row["estimated_kwh"]) == (pytest.approx(26.0, abs=1e-6), pytest.approx(22.0, abs=1e-6))
    assert billed["rack-9-lifetime"]["kwh"] == pytest.approx(truth, abs=1e-6)  # the lifetime counter: all measured
    assert billed["rack-9-lifetime"]["resets_folded"] == 0
