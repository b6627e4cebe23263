"""Redfish presets over the http engine against the simulator's Redfish face (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import outlet_kwh

PASSWORD = "Rf-pass-never-leak-7"
MAINS = "redfish/v1/PowerEquipment/RackPDUs/1/Mains/AA"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    devices = [DeviceSpec("rf-1", "plain", power_kw=2.0, initial_kwh=12543.5, password=PASSWORD),
               DeviceSpec("rf-f", "plain", power_kw=1.0, initial_kwh=10.0, password=PASSWORD)]
    with Simulator(devices, clock=SimClock(start=datetime(2025, 1, 1, tzinfo=UTC), frozen=True)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    root = tmp_path_factory.mktemp("redfish")
    with ScrapingEngine(secrets=SecretStore(environ={"REDFISH_PASSWORD": PASSWORD, "WRONG": "not-it-at-all"}),
                        evidence_dir=root / "evidence", state_dir=root / "state") as scraping:
        yield scraping


@pytest.fixture
def faulty(sim: Simulator) -> Iterator[Any]:
    yield sim.device("rf-f")
    sim.device("rf-f").clear_faults()


def read(engine: ScrapingEngine, sim: Simulator, device_id: str, path: str, preset: str = "redfish-pdu-mains",
         **overrides: Any) -> ScrapeResult:
    data = {"preset": preset, "url": sim.url_for(device_id) + path, "retries": 0, "timeout_s": 3, **overrides}
    return engine.scrape(ScrapeRequest(key=device_id, config=ScrapeConfig.model_validate(data)))


def test_mains_energy_is_the_device_counter(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "rf-1", MAINS)
    assert result.ok, result.error
    value = result.values["total_kwh"]
    assert value.value == round(sim.displayed_kwh("rf-1"), 3)
    assert value.counter is not None and value.counter.resettable and value.counter.wraps_at is None


def test_an_outlet_and_the_lifetime_reading(engine: ScrapingEngine, sim: Simulator) -> None:
    outlet = read(engine, sim, "rf-1", "redfish/v1/PowerEquipment/RackPDUs/1/Outlets/5", preset="redfish-pdu-outlet")
    assert outlet.ok, outlet.error
    assert outlet.values["total_kwh"].value == pytest.approx(outlet_kwh(sim.displayed_kwh("rf-1"), 5), abs=0.001)
    sim.device("rf-1").set_fault("reset")
    sim.clock.advance(timedelta(hours=1))
    reading = read(engine, sim, "rf-1", MAINS).values["total_kwh"].value
    lifetime = read(engine, sim, "rf-1", MAINS, values={"total_kwh": {"selector": "$.EnergykWh.LifetimeReading"}})
    assert reading == pytest.approx(2.0)  # restarted from 0 an hour ago
    assert lifetime.values["total_kwh"].value == pytest.approx(sim.true_energy_kwh("rf-1") + 12543.5, abs=0.001)


def test_session_login_and_logout_as_redfish_clients_do(sim: Simulator) -> None:
    base = sim.url_for("rf-1") + "redfish/v1/"
    with httpx.Client() as client:
        assert client.get(base + MAINS[len("redfish/v1/"):]).status_code == 401
        login = client.post(base + "SessionService/Sessions", json={"UserName": "admin", "Password": PASSWORD})
        assert login.status_code == 201
        token = {"X-Auth-Token": login.headers["x-auth-token"]}
        assert client.get(base + MAINS[len("redfish/v1/"):], headers=token).json()["EnergykWh"]["Reading"] > 0
        assert client.delete(sim.base_url + login.headers["location"], headers=token).status_code == 204
        assert client.get(base + MAINS[len("redfish/v1/"):], headers=token).status_code == 401


def test_wrong_password_is_auth_failed(engine: ScrapingEngine, sim: Simulator) -> None:
    result = read(engine, sim, "rf-1", MAINS, auth={"password": "${WRONG}"})
    assert result.error is not None and result.error.error_class == "auth_failed"


def test_faults_are_failed_readings(engine: ScrapingEngine, sim: Simulator, faulty: Any) -> None:
    faulty.set_fault("garbled")
    assert read(engine, sim, "rf-f", MAINS).error.error_class == "not_a_number"  # type: ignore[union-attr]
    faulty.clear_faults()
    faulty.set_fault("sentinel")
    result = read(engine, sim, "rf-f", MAINS)
    assert result.error is not None and result.error.error_class == "not_a_number" and result.values == {}
    faulty.clear_faults()
    faulty.set_fault("down")
    result = read(engine, sim, "rf-f", MAINS)
    assert result.error is not None and result.error.error_class in ("unreachable", "timeout")
