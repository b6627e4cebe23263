"""The snmp engine against the simulator's real SNMP agent (UDP on 127.0.0.1): v2c, v3 authPriv, walks, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import DEVICE_ENERGY, OUTLET_ENERGY, OUTLETS, outlet_kwh

PASSWORD = "Zq8-kWh-never-leak-41"
START = datetime(2025, 1, 1, tzinfo=UTC)
FAST = {"timeout_s": 1.5, "retries": 0, "snmp": {"request_timeout_s": 0.5}}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """An APC web-page device, a Raritan one, a device for faults and one below Geist's ceiling."""
    devices = [DeviceSpec("apc-1", "apc-nmc2", power_kw=2.3, initial_kwh=12543.5, password=PASSWORD),
               DeviceSpec("raritan-1", "raritan", power_kw=1.7, initial_kwh=4321.0, password=PASSWORD),
               DeviceSpec("fault-1", "plain", power_kw=1.0, initial_kwh=100.0),
               DeviceSpec("small-1", "geist", power_kw=0.9, initial_kwh=1234.5),
               DeviceSpec("wrap-1", "raritan", power_kw=1.0),
               DeviceSpec("pdu24-1", "raritan", power_kw=4.8, initial_kwh=5000.0, outlets=24)]
    with Simulator(devices, clock=SimClock(start=START, frozen=True)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def engine(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    creds = sim.snmp_credentials
    secrets = SecretStore(environ={"SNMP_COMMUNITY": creds.community, "SNMP_AUTH": creds.auth_password,
                                   "SNMP_PRIV": creds.priv_password, "SIM_PASSWORD": PASSWORD,
                                   "WRONG": "not-the-community-1"})
    root = tmp_path_factory.mktemp("snmp")
    with ScrapingEngine(secrets=secrets, evidence_dir=root / "evidence", state_dir=root / "state") as scraping:
        yield scraping


@pytest.fixture
def faulty(sim: Simulator) -> Iterator[Any]:
    yield sim.device("fault-1")
    sim.device("fault-1").clear_faults()


def v3(sim: Simulator, auth_password: str = "${SNMP_AUTH}") -> dict[str, Any]:
    return {"type": "snmp_v3", "username": sim.snmp_credentials.user, "auth_protocol": "SHA",
            "auth_password": auth_password, "priv_protocol": "AES", "priv_password": "${SNMP_PRIV}"}


def read(engine: ScrapingEngine, sim: Simulator, device_id: str, preset: str, **overrides: Any) -> ScrapeResult:
    data: dict[str, Any] = {"preset": preset, "url": sim.snmp_url(device_id), "retries": 0, **overrides}
    return engine.scrape(ScrapeRequest(key=device_id, config=ScrapeConfig.model_validate(data)))


def test_v2c_get_reads_the_counter_the_web_page_shows(engine: ScrapingEngine, sim: Simulator) -> None:
    over_snmp = read(engine, sim, "apc-1", "apc-rpdu2-snmp")
    web = engine.scrape(ScrapeRequest(key="apc-web", config=ScrapeConfig.model_validate(
        {"preset": "apc-nmc2", "url": sim.url_for("apc-1"), "auth": {"password": "${SIM_PASSWORD}"}, "retries": 0})))
    assert over_snmp.ok, over_snmp.error
    assert web.ok, web.error
    assert over_snmp.engine == "snmp"
    snmp_kwh = over_snmp.values["total_kwh"].value
    assert snmp_kwh == 12543.5 == round(sim.displayed_kwh("apc-1"), 1)  # tenths of kWh, no float noise
    assert snmp_kwh == pytest.approx(web.values["total_kwh"].value, abs=0.05)


def test_counter_semantics_reach_the_reading(engine: ScrapingEngine, sim: Simulator) -> None:
    apc = read(engine, sim, "apc-1", "apc-rpdu2-snmp").values["total_kwh"]
    assert apc.unit == "kWh"
    assert apc.counter is not None
    assert apc.counter.wraps_at == pytest.approx(214748364.8)  # Integer32 tenths of kWh
    assert apc.counter.resettable and apc.counter.signed and apc.counter.width == 32
    raritan = read(engine, sim, "raritan-1", "raritan-pdu2-snmp").values["total_kwh"]
    assert raritan.counter is not None and raritan.counter.wraps_at == pytest.approx(4294967.296)  # 2**32 Wh


def test_v3_auth_priv_reads_the_raritan_inlet(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "raritan-1", "raritan-pdu2-snmp", auth=v3(sim))
    assert result.ok, result.error
    assert result.values["total_kwh"].value == pytest.approx(round(sim.displayed_kwh("raritan-1") * 1000) / 1000)


def test_the_counter_moves_with_the_device_and_a_reset_shows(engine: ScrapingEngine, sim: Simulator) -> None:
    before = read(engine, sim, "raritan-1", "raritan-pdu2-snmp").values["total_kwh"].value
    sim.clock.advance(timedelta(hours=10))
    after = read(engine, sim, "raritan-1", "raritan-pdu2-snmp").values["total_kwh"].value
    assert after - before == pytest.approx(17.0, abs=0.002)  # 1.7 kW for 10 h
    sim.device("raritan-1").set_fault("reset")
    sim.clock.advance(timedelta(hours=1))
    assert read(engine, sim, "raritan-1", "raritan-pdu2-snmp").values["total_kwh"].value == pytest.approx(1.7)


def test_outlet_endpoints_share_one_bulk_walk(engine: ScrapingEngine, sim: Simulator) -> None:
    walk_root = "1.3.6.1.4.1.318.1.1.26.9.4.3.1.11"
    requests = [ScrapeRequest(key=f"apc-outlet-{n}", config=ScrapeConfig.model_validate({
        "preset": "apc-rpdu2-outlet-snmp", "url": sim.snmp_url("apc-1"), "retries": 0,
        "values": {"total_kwh": {"selector": f"{walk_root}.{n}"}}})) for n in range(1, OUTLETS + 1)]
    results = engine.scrape_many(requests)
    assert all(r.ok for r in results), [r.error for r in results]
    device_kwh = sim.displayed_kwh("apc-1")
    for n, result in enumerate(results, start=1):
        assert result.values["total_kwh"].value == pytest.approx(round(outlet_kwh(device_kwh, n) * 10) / 10)
    assert sum(r.values["total_kwh"].value for r in results) == pytest.approx(device_kwh, abs=0.05 * OUTLETS)
    walks = [t.name for r in results for t in r.timings if t.name.startswith("walk ")]
    assert len(walks) == OUTLETS and all(f"walk {walk_root}" in name for name in walks)
    assert len([key for key in engine.snmp._walks if key[-1] == walk_root]) == 1  # one walk, shared


@pytest.mark.parametrize("preset", sorted(DEVICE_ENERGY) + sorted(OUTLET_ENERGY))
def test_every_snmp_preset_reads_the_simulator(engine: ScrapingEngine, sim: Simulator, preset: str) -> None:
    energy = {**DEVICE_ENERGY, **OUTLET_ENERGY}[preset]
    outlet = 3 if preset in OUTLET_ENERGY else 0
    overrides: dict[str, Any] = {}
    if outlet:
        overrides["values"] = {"total_kwh": {"selector": ".".join(map(str, energy.oid(outlet)))}}
    result = read(engine, sim, "small-1", preset, **overrides)
    assert result.ok, result.error
    kwh = sim.displayed_kwh("small-1")
    expected = round((outlet_kwh(kwh, outlet) if outlet else kwh) * energy.per_kwh) / energy.per_kwh
    assert result.values["total_kwh"].value == pytest.approx(expected, abs=1e-9)
    assert result.values["total_kwh"].unit == "kWh"
    assert result.values["total_kwh"].counter is not None


def test_a_geist_counter_at_its_ceiling_says_so(engine: ScrapingEngine, sim: Simulator) -> None:
    value = read(engine, sim, "apc-1", "vertiv-geist-snmp").values["total_kwh"]
    assert value.value == 9999.0  # 12,543.5 kWh shown as the Gauge32's 9,999,000 Wh ceiling
    assert value.counter is not None and value.counter.ceiling == 9999.0 and value.counter.wraps_at is None


def test_a_32_bit_register_wraps_and_the_reading_says_where(engine: ScrapingEngine, sim: Simulator) -> None:
    sim.device("wrap-1").set_fault("swap", initial=4294966.9)  # a meter 0.396 kWh below 2**32 Wh
    before = read(engine, sim, "wrap-1", "raritan-pdu2-snmp").values["total_kwh"]
    sim.clock.advance(timedelta(hours=1))
    after = read(engine, sim, "wrap-1", "raritan-pdu2-snmp").values["total_kwh"]
    assert before.value == pytest.approx(4294966.9) and after.value == pytest.approx(0.604)  # 2**32 Wh passed
    assert after.counter is not None and after.counter.wraps_at is not None
    assert after.counter.wraps_at - before.value + after.value == pytest.approx(1.0)  # 1 kW for 1 h, exactly


def test_a_24_outlet_pdu_is_24_endpoints_read_in_one_walk(engine: ScrapingEngine, sim: Simulator) -> None:
    column = OUTLET_ENERGY["raritan-pdu2-outlet-snmp"].oid
    results = engine.scrape_many([ScrapeRequest(key=f"pdu24-outlet-{n}", config=ScrapeConfig.model_validate({
        "preset": "raritan-pdu2-outlet-snmp", "url": sim.snmp_url("pdu24-1"), "retries": 0,
        "values": {"total_kwh": {"selector": ".".join(map(str, column(n)))}}})) for n in range(1, 25)])
    assert all(r.ok for r in results), [r.error for r in results]
    kwh = sim.displayed_kwh("pdu24-1")
    assert [r.values["total_kwh"].value for r in results] == [
        pytest.approx(round(outlet_kwh(kwh, n, 24) * 1000) / 1000) for n in range(1, 25)]
    port = int(sim.snmp_url("pdu24-1").rsplit(":", 1)[1])
    assert len([key for key in engine.snmp._walks if key[1] == port]) == 1


def test_v1_community_reads_too(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "apc-1", "apc-rpdu2-snmp",
                  auth={"type": "snmp_community", "community": "${SNMP_COMMUNITY}", "version": "1"})
    assert result.ok, result.error


def test_device_down_is_a_timeout_not_a_crash(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("down")
    result = read(engine, sim, "fault-1", "snmp-counter", **FAST)
    assert not result.ok and result.error is not None
    assert result.error.error_class == "timeout"
    assert "wrong community" in (result.error.hint or "")
    assert result.duration_s < 1.5 + 2.5


def test_wrong_community_is_auth_failed(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "apc-1", "apc-rpdu2-snmp",
                  auth={"type": "snmp_community", "community": "${WRONG}"}, **FAST)
    assert result.error is not None and result.error.error_class == "auth_failed"
    assert "not-the-community-1" not in json.dumps(result.model_dump(mode="json"))


def test_community_changed_on_the_device_is_auth_failed(engine: ScrapingEngine, sim: Simulator,
                                                        faulty: Any) -> None:
    faulty.set_fault("wrong_password")
    result = read(engine, sim, "fault-1", "snmp-counter", **FAST)
    assert result.error is not None and result.error.error_class == "auth_failed"


def test_wrong_v3_password_is_auth_failed(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "raritan-1", "raritan-pdu2-snmp", auth=v3(sim, "${WRONG}"), **FAST)
    assert result.error is not None and result.error.error_class == "auth_failed"
    assert "digest" in result.error.message.lower()
    v3_fault = read(engine, sim, "raritan-1", "raritan-pdu2-snmp", auth=v3(sim), **FAST)
    assert v3_fault.ok  # the right password still works


def test_v3_password_changed_on_the_device_is_auth_failed(engine: ScrapingEngine, sim: Simulator,
                                                          faulty: Any) -> None:
    faulty.set_fault("wrong_password")
    result = read(engine, sim, "fault-1", "snmp-counter", auth=v3(sim), **FAST)
    assert result.error is not None and result.error.error_class == "auth_failed"


def test_garbled_value_is_not_a_number(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("garbled")
    result = read(engine, sim, "fault-1", "apc-rpdu2-snmp")
    assert result.error is not None and result.error.error_class == "not_a_number"
    assert result.evidence.page_source is not None and "1#2?4,x" in result.evidence.page_source.read_text()


def test_apc_minus_one_means_no_reading_never_zero(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("sentinel")
    result = read(engine, sim, "fault-1", "apc-rpdu2-snmp")
    assert result.error is not None and result.error.error_class == "not_a_number"
    assert "no value" in result.error.message and result.values == {}


def test_an_oid_the_agent_lacks_is_selector_not_found(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "apc-1", "snmp-counter", values={"total_kwh": {"selector": "1.3.6.1.4.1.9.9.9.0"}})
    assert result.error is not None and result.error.error_class == "selector_not_found"
    assert "1.3.6.1.4.1.9.9.9.0" in result.error.message


def test_config_rules_per_engine() -> None:
    base = {"url": "snmp://10.0.0.5", "engine": "snmp", "values": {"total_kwh": {"selector": "1.3.6.1.2.1.1.3.0"}}}
    with pytest.raises(ValueError, match="auth type snmp_community"):
        ScrapeConfig.model_validate(base)
    with pytest.raises(ValueError, match="numeric OID"):
        ScrapeConfig.model_validate({**base, "auth": {"type": "snmp_community", "community": "${C}"},
                                     "values": {"total_kwh": {"selector": "#energy"}}})
    with pytest.raises(ValueError, match="snmp://"):
        ScrapeConfig.model_validate({**base, "url": "http://10.0.0.5/"})
    with pytest.raises(ValueError, match="auth_password is required"):
        ScrapeConfig.model_validate({**base, "auth": {"type": "snmp_v3", "username": "u"}})
    with pytest.raises(ValueError, match="not under walk_root"):
        ScrapeConfig.model_validate({**base, "auth": {"type": "snmp_community", "community": "${C}"},
                                     "snmp": {"mode": "walk", "walk_root": "1.3.6.1.4.1.318"}})


def test_a_slow_agent_is_a_timeout(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("slow", delay=3.0)
    result = read(engine, sim, "fault-1", "snmp-counter", **FAST)
    assert result.error is not None and result.error.error_class == "timeout"


def test_a_vanished_outlet_is_selector_not_found(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("vanished_outlet", outlet=2)
    column = OUTLET_ENERGY["apc-rpdu2-outlet-snmp"].oid
    results = engine.scrape_many([ScrapeRequest(key=f"o{n}", config=ScrapeConfig.model_validate({
        "preset": "apc-rpdu2-outlet-snmp", "url": sim.snmp_url("fault-1"), "retries": 0,
        "values": {"total_kwh": {"selector": ".".join(map(str, column(n)))}}})) for n in (1, 2, 3)])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None and results[1].error.error_class == "selector_not_found"


def test_an_unknown_v3_user_is_auth_failed(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "apc-1", "apc-rpdu2-snmp", auth={**v3(sim), "username": "nobody"}, **FAST)
    assert result.error is not None and result.error.error_class == "auth_failed"
