"""Reset times over SNMP: Eaton's Unix seconds and APC's local start time, read with the value from the
simulator's agent (UDP on 127.0.0.1), and the forms a device's reset time may take."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine
from nxforge.scraping.errors import ScrapeFailure
from nxforge.scraping.reset_times import parse_reset_time
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import outlet_kwh

START = datetime(2026, 5, 10, 8, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RESET = START + timedelta(hours=1, minutes=30, seconds=7)
APC_START_TIME = "1.3.6.1.4.1.318.1.1.26.4.3.1.10.1"  # PowerNet-MIB rPDU2DeviceStatusEnergyStartTime.1


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """An Eaton host with a PDU strapped behind it, and an APC card whose clock is set to New York."""
    devices = [DeviceSpec("eaton", "plain", power_kw=2.0, initial_kwh=10.0, linked=("eaton-b",)),
               DeviceSpec("eaton-b", "plain", power_kw=1.0, initial_kwh=50.0),
               DeviceSpec("apc", "plain", power_kw=2.0, initial_kwh=10.0, clock_zone="America/New_York")]
    with Simulator(devices, clock=SimClock(start=START, frozen=True)) as simulator:
        yield simulator


@pytest.fixture
def engine(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    root = tmp_path_factory.mktemp("snmp-resets")
    secrets = SecretStore(environ={"SNMP_COMMUNITY": sim.snmp_credentials.community})
    with ScrapingEngine(secrets=secrets, evidence_dir=root / "evidence", state_dir=root / "state") as scraping:
        yield scraping


def read(engine: ScrapingEngine, sim: Simulator, device: str, preset: str, **overrides: Any) -> ScrapeResult:
    config = ScrapeConfig.model_validate({"preset": preset, "url": sim.snmp_url(device), "retries": 0, **overrides})
    return engine.scrape(ScrapeRequest(key=device, config=config))


def dated(result: ScrapeResult) -> tuple[float, datetime | None]:
    assert result.ok, result.error
    value = result.values["total_kwh"]
    assert value.counter is not None
    return value.value, value.counter.reset_at


def apc_start(zone: str | None) -> dict[str, Any]:
    counter: dict[str, Any] = {"reset_time": APC_START_TIME, **({"reset_time_zone": zone} if zone else {})}
    return {"values": {"total_kwh": {"counter": counter}}}


def test_eaton_dates_its_resets_in_unix_seconds(engine: ScrapingEngine, sim: Simulator) -> None:
    assert dated(read(engine, sim, "eaton", "eaton-epdu-snmp")) == (10.0, EPOCH)  # 0: never reset
    sim.clock.set(RESET)
    sim.device("eaton").set_fault("reset")
    sim.clock.set(START + timedelta(hours=3))
    assert dated(read(engine, sim, "eaton", "eaton-epdu-snmp")) == (pytest.approx(2.996), RESET)
    # The strapped PDU has its own counter and its own reset time, never reset here.
    assert dated(read(engine, sim, "eaton", "eaton-epdu-snmp", snmp={"unit": 1})) == (pytest.approx(53.0), EPOCH)


def test_eaton_outlets_are_walked_with_their_reset_timers(engine: ScrapingEngine, sim: Simulator) -> None:
    def outlets(unit: int = 0) -> list[ScrapeResult]:
        return engine.scrape_many([ScrapeRequest(key=f"outlet {n}", config=ScrapeConfig.model_validate({
            "preset": "eaton-epdu-outlet-snmp", "url": sim.snmp_url("eaton"), "retries": 0,
            "snmp": {"outlet": n, "unit": unit, "walk_cache_s": 0}})) for n in (1, 2, 3)])

    assert [dated(result)[1] for result in outlets()] == [EPOCH] * 3  # 0: never reset
    port = int(sim.snmp_url("eaton").rsplit(":", 1)[1])
    roots = sorted(key[3] for key in engine.snmp._walks if key[1] == port)
    assert roots == ["1.3.6.1.4.1.534.6.6.7.6.5.1.4", "1.3.6.1.4.1.534.6.6.7.6.5.1.5"]  # outletWh, outletWhTimer
    sim.clock.set(RESET)
    sim.device("eaton").set_fault("reset")
    sim.clock.set(START + timedelta(hours=3))
    after = outlets()
    assert [dated(result)[1] for result in after] == [RESET] * 3
    assert [dated(result)[0] for result in after] == [pytest.approx(round(outlet_kwh(sim.displayed_kwh("eaton"), n)
                                                                          * 1000) / 1000) for n in (1, 2, 3)]
    assert [dated(result)[1] for result in outlets(unit=1)] == [EPOCH] * 3  # the strapped PDU was not reset


def test_apc_start_time_is_read_in_the_zone_of_the_cards_clock(engine: ScrapingEngine, sim: Simulator) -> None:
    assert dated(read(engine, sim, "apc", "apc-rpdu2-snmp", **apc_start("America/New_York"))) == (10.0, START)
    sim.clock.set(RESET)
    sim.device("apc").set_fault("reset")
    sim.clock.set(START + timedelta(hours=3))
    assert dated(read(engine, sim, "apc", "apc-rpdu2-snmp", **apc_start("America/New_York")))[1] == RESET
    wrong = dated(read(engine, sim, "apc", "apc-rpdu2-snmp", **apc_start("UTC")))[1]
    assert wrong == RESET - timedelta(hours=4)  # New York is UTC-4 in May: the zone decides the instant
    unzoned = read(engine, sim, "apc", "apc-rpdu2-snmp", **apc_start(None))
    assert unzoned.error is not None and unzoned.error.error_class == "not_a_number" and unzoned.values == {}
    assert "has no offset" in unzoned.error.message and "reset_time_zone" in (unzoned.error.hint or "")


def test_a_reset_time_the_agent_lacks_or_cannot_date_over_v1_and_v2c(engine: ScrapingEngine, sim: Simulator) -> None:
    missing = apc_start("UTC")
    missing["values"]["total_kwh"]["counter"]["reset_time"] = "1.3.6.1.4.1.318.1.1.26.4.3.1.99.1"  # not served
    # A second value of the same object dated by the start time the agent has: it stays dated.
    missing["values"]["again"] = {"selector": "1.3.6.1.4.1.318.1.1.26.4.3.1.9.1", "unit": "kWh", "scale": 0.1,
                                  "counter": apc_start("America/New_York")["values"]["total_kwh"]["counter"]}
    for version in ("1", "2c"):  # v1 fails a whole GET for one missing object: asked again without that one
        auth = {"type": "snmp_community", "community": "${SNMP_COMMUNITY}", "version": version}
        result = read(engine, sim, "apc", "apc-rpdu2-snmp", auth=auth, **missing)
        assert dated(result) == (10.0, None), version
        assert result.values["again"].counter is not None and result.values["again"].counter.reset_at == START
    uptime = apc_start(None)
    uptime["values"]["total_kwh"]["counter"]["reset_time"] = "1.3.6.1.2.1.1.3.0"  # sysUpTime: TimeTicks
    sim.clock.set(START + timedelta(minutes=1))
    ticks = read(engine, sim, "apc", "apc-rpdu2-snmp", **uptime)
    assert ticks.error is not None and ticks.error.error_class == "not_a_number" and ticks.values == {}
    assert "TimeTicks" in ticks.error.message and "a duration, not a time" in ticks.error.message


def test_the_forms_of_a_reset_time() -> None:
    assert parse_reset_time("v", "x", 1_780_000_000, None) == datetime.fromtimestamp(1_780_000_000, UTC)
    assert parse_reset_time("v", "x", 0, None) == EPOCH
    assert parse_reset_time("v", "x", "2026-05-01T00:00:00+02:00", None) == datetime(2026, 4, 30, 22, tzinfo=UTC)
    assert parse_reset_time("v", "x", "05/30/2011 00:12:17", "Europe/Paris") == datetime(2011, 5, 29, 22, 12, 17,
                                                                                        tzinfo=UTC)
    assert parse_reset_time("v", "x", "  ", None) is None  # the device says nothing
    assert parse_reset_time("v", "x", " 1780000000 ", None) == datetime.fromtimestamp(1_780_000_000, UTC)  # as text
    assert parse_reset_time("v", "x", "20260501", "UTC") == datetime(2026, 5, 1, tzinfo=UTC)  # ISO basic, not seconds
    for bad, zone in (("yesterday", "UTC"), ("2026-05-01T00:00:00", None), (-5, None), (10**20, None),
                      ("99999999999999", None), ("9999-12-31T23:00:00-05:00", None), ("-5", None),
                      ("\u00b2", None)):
        with pytest.raises(ScrapeFailure, match=r"reset time .* (is not a time|has no offset)"):
            parse_reset_time("v", "x", bad, zone)
