"""The modbus engine against the simulator's real Modbus TCP servers on 127.0.0.1: presets, decoding, faults."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator

START = datetime(2025, 1, 1, tzinfo=UTC)
FAST = {"timeout_s": 1.0, "retries": 0}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """A panel meter with a web page, and a device for faults, on a frozen clock."""
    devices = [DeviceSpec("panel-1", "panel-eu", power_kw=3.1, initial_kwh=12543.5),
               DeviceSpec("fault-1", "plain", power_kw=1.0, initial_kwh=250.0)]
    with Simulator(devices, clock=SimClock(start=START, frozen=True)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    root = tmp_path_factory.mktemp("modbus")
    with ScrapingEngine(secrets=SecretStore(environ={}), evidence_dir=root / "evidence",
                        state_dir=root / "state") as scraping:
        yield scraping


@pytest.fixture
def faulty(sim: Simulator) -> Iterator[Any]:
    yield sim.device("fault-1")
    sim.device("fault-1").clear_faults()


def read(engine: ScrapingEngine, url: str, preset: str, **overrides: Any) -> ScrapeResult:
    data: dict[str, Any] = {"preset": preset, "url": url, "retries": 0, **overrides}
    return engine.scrape(ScrapeRequest(key="meter", config=ScrapeConfig.model_validate(data)))


def test_pm5xxx_int64_wh_is_the_counter_the_web_page_shows(engine: ScrapingEngine, sim: Simulator) -> None:
    over_modbus = read(engine, sim.modbus_url("panel-1"), "schneider-pm5xxx")
    web = engine.scrape(ScrapeRequest(key="panel-web", config=ScrapeConfig.model_validate(
        {"preset": "panel-eu", "url": sim.url_for("panel-1"), "retries": 0})))
    assert over_modbus.ok, over_modbus.error
    assert web.ok, web.error
    assert over_modbus.engine == "modbus"
    value = over_modbus.values["total_kwh"]
    assert value.value == 12543.5 == round(sim.displayed_kwh("panel-1"), 3)  # whole Wh, exact
    assert value.value == pytest.approx(web.values["total_kwh"].value, abs=0.05)
    assert value.counter is not None and value.counter.width == 64 and value.counter.resettable


def test_sdm630_float32_input_register(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim.modbus_url("panel-1"), "eastron-sdm630")
    assert result.ok, result.error
    assert result.values["total_kwh"].value == pytest.approx(sim.displayed_kwh("panel-1"), rel=1e-7)
    assert result.values["total_kwh"].counter is not None
    assert result.values["total_kwh"].counter.wraps_at is None  # a float register does not wrap


def test_the_counter_moves_with_the_device(engine: ScrapingEngine, sim: Simulator) -> None:
    before = read(engine, sim.modbus_url("panel-1"), "schneider-pm5xxx").values["total_kwh"].value
    sim.clock.advance(timedelta(hours=2))
    after = read(engine, sim.modbus_url("panel-1"), "schneider-pm5xxx").values["total_kwh"].value
    assert after - before == pytest.approx(6.2, abs=0.001)


def test_word_order_and_type_come_from_the_config(engine: ScrapingEngine, sim: Simulator) -> None:
    swapped = read(engine, sim.modbus_url("panel-1"), "eastron-sdm630", modbus={"word_order": "little"})
    assert not swapped.ok or swapped.values["total_kwh"].value != pytest.approx(sim.displayed_kwh("panel-1"))
    as_total = read(engine, sim.modbus_url("panel-1"), "eastron-sdm630",
                    values={"total_kwh": {"selector": "input:342"}})
    assert as_total.ok and as_total.values["total_kwh"].value == pytest.approx(sim.displayed_kwh("panel-1"), rel=1e-7)


def test_meter_down_is_a_timeout_not_a_crash(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("down")
    result = read(engine, sim.modbus_url("fault-1"), "schneider-pm5xxx", **FAST)
    assert not result.ok and result.error is not None
    assert result.error.error_class == "timeout"
    assert result.duration_s < 1.0 + 2.5
    faulty.clear_faults()
    assert read(engine, sim.modbus_url("fault-1"), "schneider-pm5xxx", **FAST).ok  # the connection recovers


def test_garbled_float_is_not_a_number(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("garbled")
    result = read(engine, sim.modbus_url("fault-1"), "eastron-sdm630")
    assert result.error is not None and result.error.error_class == "not_a_number"
    assert result.evidence.page_source is not None and "nan" in result.evidence.page_source.read_text()


def test_not_available_int64_means_no_reading(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("sentinel")
    result = read(engine, sim.modbus_url("fault-1"), "schneider-pm5xxx")
    assert result.error is not None and result.error.error_class == "not_a_number"
    assert "no value" in result.error.message and result.values == {}


def test_a_register_the_meter_lacks_is_selector_not_found(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim.modbus_url("panel-1"), "schneider-pm5xxx", values={"total_kwh": {"selector": "3000"}})
    assert result.error is not None and result.error.error_class == "selector_not_found"
    assert "0-based" in (result.error.hint or "")


def test_nothing_listening_is_unreachable(engine: ScrapingEngine) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = read(engine, f"modbus://127.0.0.1:{port}", "schneider-pm5xxx", **FAST)
    assert result.error is not None and result.error.error_class == "unreachable"


def test_meters_on_an_rtu_bus_read_through_one_converter(engine: ScrapingEngine, sim: Simulator) -> None:
    """Two meters behind a serial-to-Ethernet converter in transparent mode: RTU frames, one unit id each."""
    requests = []
    for device in ("panel-1", "fault-1"):
        bus, unit = sim.modbus_rtu(device)
        for preset in ("schneider-pm5xxx", "eastron-sdm630"):
            config = {"preset": preset, "url": bus, "retries": 0, "modbus": {"framing": "rtu", "unit_id": unit}}
            requests.append(ScrapeRequest(key=f"{device} {preset}", config=ScrapeConfig.model_validate(config),
                                         capture_evidence=True))
    results = engine.scrape_many(requests)  # concurrently: one request at a time on the shared connection
    assert {sim.modbus_rtu("panel-1")[1], sim.modbus_rtu("fault-1")[1]} == {1, 2}
    for result in results:
        assert result.ok, result.error
        device = result.key.split()[0]
        assert result.values["total_kwh"].value == pytest.approx(sim.displayed_kwh(device), rel=1e-7)
        assert result.evidence.page_source is not None
        shown = result.evidence.page_source.read_text()
        assert f"unit {sim.modbus_rtu(device)[1]} " in shown and "(RTU framing)" in shown
    assert sim.displayed_kwh("panel-1") != sim.displayed_kwh("fault-1")


def test_a_meter_answering_late_on_an_rtu_bus_costs_only_its_reading(engine: ScrapingEngine, sim: Simulator,
                                                                     faulty: Any) -> None:
    """RTU frames carry no transaction id: after a timeout and the late answer, the next unit still reads right."""
    bus, slow_unit = sim.modbus_rtu("fault-1")
    _, unit = sim.modbus_rtu("panel-1")
    faulty.set_fault("slow", delay=1.5)
    late = read(engine, bus, "schneider-pm5xxx", modbus={"framing": "rtu", "unit_id": slow_unit}, timeout_s=0.5,
                retries=0)
    assert late.error is not None and late.error.error_class == "timeout"
    time.sleep(1.3)  # the late answer has been sent by now
    next_one = read(engine, bus, "schneider-pm5xxx", modbus={"framing": "rtu", "unit_id": unit})
    assert next_one.ok, next_one.error
    assert next_one.values["total_kwh"].value == round(sim.displayed_kwh("panel-1"), 3)


def test_the_wrong_framing_says_which_to_use(engine: ScrapingEngine, sim: Simulator) -> None:
    bus, unit = sim.modbus_rtu("panel-1")
    as_tcp = read(engine, bus, "eastron-sdm630", modbus={"unit_id": unit}, **FAST)
    assert as_tcp.error is not None and as_tcp.error.error_class == "timeout" and as_tcp.values == {}
    assert "framing: rtu" in (as_tcp.error.hint or "")
    as_rtu = read(engine, sim.modbus_url("panel-1"), "eastron-sdm630", modbus={"framing": "rtu"}, **FAST)
    assert as_rtu.error is not None and as_rtu.error.error_class == "timeout" and as_rtu.values == {}
    assert "transparent" in (as_rtu.error.hint or "")


def test_config_rules_per_engine() -> None:
    base = {"url": "modbus://10.0.0.7", "engine": "modbus", "values": {"total_kwh": {"selector": "holding:3203"}}}
    assert ScrapeConfig.model_validate(base).modbus is None  # defaults apply
    with pytest.raises(ValueError, match="not a register"):
        ScrapeConfig.model_validate({**base, "values": {"total_kwh": {"selector": "coil:1"}}})
    with pytest.raises(ValueError, match="no authentication"):
        ScrapeConfig.model_validate({**base, "auth": {"type": "basic", "username": "u", "password": "p"}})
    with pytest.raises(ValueError, match="has no steps"):
        ScrapeConfig.model_validate({**base, "steps": [{"action": "navigate", "url": "x"}]})
    with pytest.raises(ValueError, match="does not apply"):
        ScrapeConfig.model_validate({**base, "snmp": {"mode": "get"}})
    with pytest.raises(ValueError, match="framing"):
        ScrapeConfig.model_validate({**base, "modbus": {"framing": "ascii"}})
    for unit_id in (0, 248):
        with pytest.raises(ValueError, match=f"unit_id {unit_id}: a meter on an RTU bus has an address from 1 to 247"):
            ScrapeConfig.model_validate({**base, "modbus": {"framing": "rtu", "unit_id": unit_id}})
    assert ScrapeConfig.model_validate({**base, "modbus": {"unit_id": 0}}).modbus is not None  # TCP: a gateway's 0
