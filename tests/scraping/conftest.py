"""Fixtures: one simulator and one engine per test module, in this process or a child (real HTTP, real Chromium)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapingEngine
from nxforge.scraping.engine_pool import EnginePool
from nxforge.scraping.engine_process import EngineProcess
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator

# The meter styles this suite reads (the simulator may grow other styles, e.g. temperature probes).
STYLES = ("apc-nmc2", "apc-nmc1", "raritan", "eaton-g4", "geist", "sentry", "panel-eu", "plain")
PASSWORD = "Zq8-kWh-never-leak-41"
SECRET_ENV = {"SIM_PASSWORD": PASSWORD}
NO_AUTH = {"geist", "panel-eu", "plain"}
# Display resolution in kWh of what each style's page shows.
RESOLUTION = {"raritan": 0.00051}
T = TypeVar("T")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """Two devices per style (`<style>-ok`, `<style>-f` for faults) on a frozen clock."""
    devices = [
        DeviceSpec(id=f"{style}-{kind}", style=style, power_kw=2.3, initial_kwh=12543.5, password=PASSWORD)
        for style in STYLES
        for kind in ("ok", "f")
    ]
    clock = SimClock(start=datetime(2025, 1, 1, tzinfo=UTC), frozen=True)
    simulator = Simulator(devices, clock=clock).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def new_engine(make: Callable[..., T], root: Path, **limits: Any) -> T:
    """``make`` (``ScrapingEngine``, ``EngineProcess`` or a partial of ``EnginePool``) with the test secrets
    and its evidence and session folders under ``root``."""
    return make(secrets=SecretStore(environ=SECRET_ENV), evidence_dir=root / "evidence", state_dir=root / "state",
                **limits)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    """One engine for the module: its browser starts on the first browser request."""
    with new_engine(ScrapingEngine, tmp_path_factory.mktemp("scraping")) as scraping:
        yield scraping


@pytest.fixture(scope="module")
def process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """The same engine in a child process, as the collector runs it with --scraping-processes 1."""
    with new_engine(EngineProcess, tmp_path_factory.mktemp("engine-process")) as engine:
        yield engine


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnginePool]:
    """The engine in two child processes, as the collector runs it by default."""
    with new_engine(partial(EnginePool, 2), tmp_path_factory.mktemp("engine-pool")) as engine:
        yield engine


@pytest.fixture
def faulty(sim: Simulator) -> Iterator[Any]:
    """The fault device of a style, faults cleared afterwards."""
    touched: list[str] = []

    def device(style: str) -> Any:
        touched.append(f"{style}-f")
        return sim.device(f"{style}-f")

    yield device
    for device_id in touched:
        sim.device(device_id).clear_faults()


def config_for(sim: Simulator, device_id: str, **overrides: Any) -> ScrapeConfig:
    """The style's preset pointed at a simulated device, with the test password reference."""
    style = device_id.rsplit("-", 1)[0]
    data: dict[str, Any] = {"preset": style, "url": sim.url_for(device_id), "retries": 0}
    if style not in NO_AUTH:
        data["auth"] = {"password": "${SIM_PASSWORD}"}
    for key, value in overrides.items():
        if key == "auth" and "auth" in data and isinstance(value, dict) and "type" not in value:
            data["auth"] = {**data["auth"], **value}
        else:
            data[key] = value
    return ScrapeConfig.model_validate(data)


def request_for(sim: Simulator, device_id: str, key: str | None = None, capture: bool = False,
                **overrides: Any) -> ScrapeRequest:
    """A scrape request for one simulated device."""
    return ScrapeRequest(key=key or device_id, config=config_for(sim, device_id, **overrides),
                         capture_evidence=capture)


def evidence_files(result: Any) -> list[Path]:
    """The evidence files a result points at (that exist)."""
    return [p for p in (result.evidence.screenshot, result.evidence.page_source) if p is not None and p.exists()]
