"""Redfish session login and logout, real HTTP on 127.0.0.1 against a simulated PDU that takes only sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from nxforge.log_redaction import install_log_redaction, uninstall_log_redaction
from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import outlet_kwh

PASSWORD = "Rf-session-pass-9"
PDU = "redfish/v1/PowerEquipment/RackPDUs/1/"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    devices = [DeviceSpec(name, "plain", power_kw=2.0, initial_kwh=500.0, password=PASSWORD, outlets=4,
                          redfish_sessions_only=True, redfish_max_sessions=1)
               for name in ("rs-one", "rs-keep", "rs-busy", "rs-bad")]
    with Simulator(devices, clock=SimClock(start=datetime(2025, 3, 1, tzinfo=UTC), frozen=True)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("redfish-sessions")


@pytest.fixture(scope="module")
def engine(root: Path) -> Iterator[ScrapingEngine]:
    secrets = SecretStore(environ={"REDFISH_PASSWORD": PASSWORD, "WRONG": "not-the-password"})
    with ScrapingEngine(secrets=secrets, evidence_dir=root / "evidence", state_dir=root / "state") as scraping:
        yield scraping


def request(sim: Simulator, device: str, path: str, preset: str = "redfish-pdu-outlet", evidence: bool = False,
            **overrides: Any) -> ScrapeRequest:
    data = {"preset": preset, "url": sim.url_for(device) + PDU + path, "retries": 0, "timeout_s": 5, **overrides}
    return ScrapeRequest(key=f"{device}/{path}", config=ScrapeConfig.model_validate(data), capture_evidence=evidence)


@pytest.fixture
def redaction() -> Iterator[None]:
    """Log redaction as every nxforge process installs it (the CLI, the collector, the app)."""
    install_log_redaction()
    try:
        yield
    finally:
        uninstall_log_redaction()


def files_text(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def test_one_session_reads_mains_and_outlets_and_logs_off(engine: ScrapingEngine, sim: Simulator, root: Path,
                                                           caplog: pytest.LogCaptureFixture, redaction: None) -> None:
    for name in ("nxforge", "httpx", "httpcore"):  # libraries at DEBUG too: httpcore prints response headers
        caplog.set_level(logging.DEBUG, logger=name)
    device = sim.device("rs-one")
    requests = [request(sim, "rs-one", "Mains/AA", preset="redfish-pdu-mains", evidence=True)]
    requests += [request(sim, "rs-one", f"Outlets/{n}", evidence=True) for n in range(1, 5)]
    results: list[ScrapeResult] = engine.scrape_many(requests)
    assert [r.error for r in results] == [None] * 5
    shown = sim.displayed_kwh("rs-one")
    assert results[0].values["total_kwh"].value == round(shown, 3)
    for n, result in enumerate(results[1:], start=1):
        assert result.values["total_kwh"].value == pytest.approx(outlet_kwh(shown, n, 4), abs=0.001)
    # The device allows one session: all five shared one login, and the last logged it off.
    assert device.redfish_sessions.created == 1
    assert device.redfish_sessions.active() == 0
    tokens = device.redfish_sessions.issued
    assert tokens and "X-Auth-Token" in caplog.text and "Redfish session closed" in caplog.text
    kept = files_text(root)
    assert results[0].evidence.page_source is not None and "EnergykWh" in kept
    for token in tokens:
        assert token not in caplog.text
        assert token not in kept


def test_basic_auth_is_refused_where_sessions_are_required(engine: ScrapingEngine, sim: Simulator) -> None:
    result = engine.scrape(request(sim, "rs-bad", "Outlets/1",
                                   auth={"type": "basic", "username": "admin", "password": "${REDFISH_PASSWORD}"}))
    assert result.error is not None and result.error.error_class == "auth_failed"


def test_a_kept_session_is_reused_and_renewed_on_401(engine: ScrapingEngine, sim: Simulator) -> None:
    device = sim.device("rs-keep")
    keep = {"auth": {"keep_session": True}}
    for _ in range(3):
        result = engine.scrape(request(sim, "rs-keep", "Outlets/2", **keep))
        assert result.ok, result.error
    assert device.redfish_sessions.created == 1 and device.redfish_sessions.active() == 1
    device.redfish_sessions.clear()  # the device timed the session out
    result = engine.scrape(request(sim, "rs-keep", "Outlets/2", **keep))
    assert result.ok, result.error
    assert device.redfish_sessions.created == 2 and device.redfish_sessions.active() == 1
    assert engine.scrape(request(sim, "rs-keep", "Outlets/2")).ok  # keep_session off again: logs off
    assert device.redfish_sessions.active() == 0 and device.redfish_sessions.created == 2


def test_wrong_password_and_a_failed_read_leave_no_session(engine: ScrapingEngine, sim: Simulator) -> None:
    device = sim.device("rs-bad")
    wrong = engine.scrape(request(sim, "rs-bad", "Outlets/1", auth={"password": "${WRONG}"}))
    assert wrong.error is not None and wrong.error.error_class == "auth_failed"
    assert "refused" in wrong.error.message and PASSWORD not in wrong.error.message
    missing = engine.scrape(request(sim, "rs-bad", "Outlets/1", values={"total_kwh": {"selector": "$.Nope"}}))
    assert missing.error is not None and missing.error.error_class == "selector_not_found"
    assert device.redfish_sessions.created == 1 and device.redfish_sessions.active() == 0


def test_a_full_session_table_is_auth_failed_with_a_hint(engine: ScrapingEngine, sim: Simulator) -> None:
    device = sim.device("rs-busy")
    base = sim.url_for("rs-busy") + "redfish/v1/"
    with httpx.Client() as client:
        other = client.post(base + "SessionService/Sessions", json={"UserName": "admin", "Password": PASSWORD})
        assert other.status_code == 201
        result = engine.scrape(request(sim, "rs-busy", "Outlets/3"))
        assert result.error is not None and result.error.error_class == "auth_failed"
        assert "too many" in result.error.message and "session_limit" in (result.error.hint or "")
        token = {"X-Auth-Token": other.headers["x-auth-token"]}
        assert client.get(base + "SessionService/Sessions", headers=token).json()["Members@odata.count"] == 1
        assert client.delete(sim.base_url + other.headers["location"], headers=token).status_code == 204
    assert device.redfish_sessions.active() == 0
    assert engine.scrape(request(sim, "rs-busy", "Outlets/3")).ok
