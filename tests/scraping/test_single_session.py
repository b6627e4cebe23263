"""A card that allows one session at a time (APC NMC2) with three endpoints: all three are read on
every run, on one login, logged off after the last (real HTTP on 127.0.0.1, real Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapingEngine
from nxforge.scraping.session import device_key
from nxforge.simulator import DeviceSpec, SimClock, Simulator

from .conftest import PASSWORD

ENGINES = ["http", pytest.param("browser", marks=pytest.mark.browser)]


@pytest.fixture(scope="module")
def cards() -> Iterator[Simulator]:
    """One APC card per engine (a card's single session must not be shared between the two tests)."""
    devices = [DeviceSpec(id=f"apc-{name}", style="apc-nmc2", power_kw=2.3, initial_kwh=12543.5, password=PASSWORD)
               for name in ("http", "browser")]
    simulator = Simulator(devices, clock=SimClock(start=datetime(2025, 1, 1, tzinfo=UTC), frozen=True)).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def outlet_requests(cards: Simulator, engine_name: str) -> list[ScrapeRequest]:
    """Three endpoints on one card (the preset's one-session limit), as three clients' outlets would be."""
    url = cards.url_for(f"apc-{engine_name}")
    return [ScrapeRequest(key=f"{engine_name}-outlet-{n}", config=ScrapeConfig.model_validate(
        {"preset": "apc-nmc2", "url": url, "engine": engine_name, "retries": 0,
         "auth": {"password": "${SIM_PASSWORD}"}})) for n in (1, 2, 3)]


def test_endpoints_of_one_card_are_one_device() -> None:
    first, second = (ScrapeConfig.model_validate({"preset": "apc-nmc2", "url": f"http://10.0.0.{n}/",
                                                  "auth": {"password": "x"}}) for n in (5, 6))
    assert first.session_limit == 1
    assert device_key(first) == "login:http://10.0.0.5/logon.htm" != device_key(second)
    named = first.model_copy(update={"device": "pdu-a1"})
    assert device_key(named) == "device:pdu-a1"


@pytest.mark.parametrize("engine_name", ENGINES)
def test_three_endpoints_share_one_login_and_log_off(cards: Simulator, engine: ScrapingEngine,
                                                     engine_name: str) -> None:
    card = cards.device(f"apc-{engine_name}")
    for run in range(2):
        results = engine.scrape_many(outlet_requests(cards, engine_name))
        assert [r.ok for r in results] == [True, True, True], [r.error for r in results]
        assert all(r.values["total_kwh"].value == 12543.5 for r in results)
        logins = sum(any(t.name == "login" for t in r.timings) for r in results)
        assert logins == 1, f"run {run}: {logins} logins"
        assert card.sessions.active() == 0  # logged off after the last endpoint: ops can log in
    alone = engine.scrape(outlet_requests(cards, engine_name)[0])
    assert alone.ok and card.sessions.active() == 0


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_failed_read_logs_off_so_the_next_endpoint_still_reads(cards: Simulator, engine: ScrapingEngine,
                                                                 engine_name: str) -> None:
    card = cards.device(f"apc-{engine_name}")
    requests = outlet_requests(cards, engine_name)
    broken = requests[1].config.model_copy(update={"values": {
        "total_kwh": requests[1].config.values["total_kwh"].model_copy(update={"selector": "#nothing"})}})
    requests[1] = requests[1].model_copy(update={"config": broken})
    results = engine.scrape_many(requests)
    assert [r.ok for r in results] == [True, False, True], [r.error for r in results]
    assert results[1].error is not None and results[1].error.error_class == "selector_not_found"
    assert card.sessions.active() == 0
