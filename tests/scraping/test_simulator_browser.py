"""The browser engine (real Chromium) against the simulator: styles, JS pages, frames, faults."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from nxforge.scraping import ScrapeRequest, ScrapingEngine, browser
from nxforge.secrets import SecretStore
from nxforge.simulator import Simulator

from .conftest import RESOLUTION, STYLES, evidence_files, request_for

pytestmark = pytest.mark.browser

BROWSER_OVERRIDES: dict[str, dict[str, Any]] = {
    "sentry": {"steps": [{"action": "click", "selector": "#tab-inlets"}]},
    "panel-eu": {"steps": [{"action": "frame", "selector": "#meter-frame"}]},
    "geist": {"values": {"total_kwh": {"selector": "#total-energy", "unit": "kWh"}}, "steps": []},
    "eaton-g4": {
        "preset": None,
        "auth": {"type": "form", "username": "admin", "password": "${SIM_PASSWORD}", "username_field": "#username",
                 "password_field": "#password", "submit": "#login", "logged_in": {"selector": "#active-energy"},
                 "login_failed": {"text": "Invalid"}},
        "verify_tls": False,
        "values": {"total_kwh": {"selector": "#active-energy", "unit": "kWh"}},
    },
}


def browser_request(sim: Simulator, device_id: str, key: str | None = None, **extra: Any) -> ScrapeRequest:
    style = device_id.rsplit("-", 1)[0]
    overrides = {**BROWSER_OVERRIDES.get(style, {}), **extra}
    return request_for(sim, device_id, key=key or f"browser-{device_id}", engine="browser", **overrides)


@pytest.mark.parametrize("style", STYLES)
def test_every_style_in_the_browser(sim: Simulator, engine: ScrapingEngine, style: str) -> None:
    device_id = f"{style}-ok"
    result = engine.scrape(browser_request(sim, device_id))
    assert result.ok, result.error
    assert result.engine == "browser"
    resolution = 0.051 if style == "eaton-g4" else RESOLUTION.get(style, 0.051)  # page shows MWh, 4 decimals
    assert result.values["total_kwh"].value == pytest.approx(sim.displayed_kwh(device_id), abs=resolution)


def test_select_another_inlet(sim: Simulator, engine: ScrapingEngine) -> None:
    steps = [{"action": "click", "selector": "#tab-inlets"}, {"action": "select", "selector": "#inlet", "value": "AB"},
             {"action": "wait", "ms": 50}]
    result = engine.scrape(browser_request(sim, "sentry-ok", key="inlet-ab", steps=steps))
    assert result.ok, result.error
    assert result.values["total_kwh"].value == pytest.approx(sim.device("sentry-ok").inlet_kwh("AB"), abs=0.051)


def test_kept_session_skips_the_login(sim: Simulator, engine: ScrapingEngine) -> None:
    first = engine.scrape(browser_request(sim, "raritan-ok", key="raritan-kept"))
    second = engine.scrape(browser_request(sim, "raritan-ok", key="raritan-kept"))
    assert first.ok and second.ok, (first.error, second.error)
    assert any(t.name == "login" for t in first.timings)
    assert not any(t.name == "login" for t in second.timings)


def test_capture_evidence_on_success(sim: Simulator, engine: ScrapingEngine) -> None:
    result = engine.scrape(browser_request(sim, "plain-ok", key="evidence-ok", capture=True))
    assert result.ok
    shot, source = result.evidence.screenshot, result.evidence.page_source
    assert shot is not None and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert source is not None and 'id="kwh"' in source.read_text()


def test_wrong_password_fails_fast_with_a_screenshot(sim: Simulator, engine: ScrapingEngine, faulty: Any) -> None:
    faulty("raritan").set_fault("wrong_password")
    started = time.monotonic()
    result = engine.scrape(browser_request(sim, "raritan-f", key="raritan-wrong"))
    assert result.error is not None and result.error.error_class == "auth_failed", result.error
    assert "Authentication failed" in result.error.message
    assert time.monotonic() - started < 5
    assert len(evidence_files(result)) == 2


@pytest.mark.parametrize(("fault", "params", "error_class"), [
    ("down", {}, "unreachable"),
    ("sentinel", {"value": "---"}, "not_a_number"),
    ("garbled", {}, "not_a_number"),
])
def test_faults_in_the_browser(sim: Simulator, engine: ScrapingEngine, faulty: Any, fault: str,
                               params: dict[str, Any], error_class: str) -> None:
    faulty("plain").set_fault(fault, **params)
    result = engine.scrape(browser_request(sim, "plain-f", key=f"browser-{fault}", timeout_s=5))
    assert result.error is not None and result.error.error_class == error_class, result.error
    assert evidence_files(result)


def test_slow_device_times_out(sim: Simulator, engine: ScrapingEngine, faulty: Any) -> None:
    faulty("plain").set_fault("slow", delay=3.0)
    result = engine.scrape(browser_request(sim, "plain-f", key="browser-slow", timeout_s=1.0))
    assert result.error is not None and result.error.error_class == "timeout", result.error
    assert result.duration_s < 3.5


def test_selector_miss_and_step_failure(sim: Simulator, engine: ScrapingEngine) -> None:
    miss = engine.scrape(browser_request(sim, "raritan-ok", key="raritan-miss",
                                         values={"total_kwh": {"selector": "#kwh", "unit": "kWh"}}))
    assert miss.error is not None and miss.error.error_class == "selector_not_found"
    assert "#inlet-active-energy" in miss.error.message
    assert len(evidence_files(miss)) == 2
    step = engine.scrape(browser_request(sim, "sentry-ok", key="sentry-step", steps=[
        {"action": "click", "selector": "#tab-inlets"},
        {"action": "click", "selector": "#no-such-tab", "timeout_s": 0.5}]))
    assert step.error is not None and step.error.error_class == "step_failed"
    assert step.error.step_index == 1 and "#no-such-tab" in step.error.message


def test_suggest_in_the_browser(sim: Simulator, engine: ScrapingEngine) -> None:
    suggestions = engine.suggest(browser_request(sim, "raritan-ok", key="raritan-suggest"))
    assert suggestions[0].selector == "#inlet-active-energy"
    assert suggestions[0].value == pytest.approx(sim.displayed_kwh("raritan-ok"), abs=0.001)


def test_xpath_in_the_browser(sim: Simulator, engine: ScrapingEngine) -> None:
    result = engine.scrape(browser_request(sim, "apc-nmc1-ok", key="nmc1-xpath", values={
        "total_kwh": {"selector": "//tr[td[1]='Energy']/td[2]", "unit": "kWh"}}))
    assert result.ok, result.error
    assert result.values["total_kwh"].value == pytest.approx(sim.displayed_kwh("apc-nmc1-ok"), abs=0.051)


def test_no_browser_is_a_config_error(sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "find_chromium", lambda default=None: None)
    with ScrapingEngine(secrets=SecretStore(environ={}), evidence_dir=tmp_path / "e", state_dir=tmp_path / "s") as eng:
        result = eng.scrape(browser_request(sim, "plain-ok", key="nobrowser"))
    assert result.error is not None and result.error.error_class == "config"
    assert "no Chromium" in result.error.message and "apt-get install" in (result.error.hint or "")
