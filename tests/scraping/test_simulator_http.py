"""The http engine against every simulator style and fault."""

from __future__ import annotations

import stat
import threading
from datetime import timedelta

import pytest

from nxforge.scraping import ScrapingEngine
from nxforge.simulator import Simulator

from .conftest import RESOLUTION, STYLES, config_for, evidence_files, request_for

HTTP_PRESET = {"raritan": "raritan-api"}


@pytest.mark.parametrize("style", STYLES)
def test_every_style_reads_the_displayed_counter(sim: Simulator, engine: ScrapingEngine, style: str) -> None:
    device_id = f"{style}-ok"
    request = request_for(sim, device_id, key=f"http-{device_id}", preset=HTTP_PRESET.get(style, style),
                          engine="http")
    result = engine.scrape(request)
    assert result.ok, result.error
    assert result.engine == "http"
    assert result.values["total_kwh"].value == pytest.approx(sim.displayed_kwh(device_id),
                                                             abs=RESOLUTION.get(style, 0.051))
    assert result.values["total_kwh"].unit == "kWh"
    assert result.started_at.tzinfo is not None and result.duration_s > 0
    assert result.timings and result.evidence.page_source is None


def test_counter_moves_with_the_clock_and_session_is_kept(sim: Simulator, engine: ScrapingEngine) -> None:
    request = request_for(sim, "sentry-ok", key="kept-sentry")
    first = engine.scrape(request)
    assert first.ok and any(t.name == "login" for t in first.timings)
    second = engine.scrape(request)
    assert second.ok
    assert not any(t.name == "login" for t in second.timings), "the kept cookie should be reused"
    state_file = engine.sessions.path("kept-sentry")
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert "sentry_sid" in state_file.read_text()
    sim.clock.advance(timedelta(hours=10))  # the device forgets idle sessions: log in again
    third = engine.scrape(request)
    assert third.ok, third.error
    assert third.values["total_kwh"].value == pytest.approx(sim.displayed_kwh("sentry-ok"), abs=0.051)
    assert third.values["total_kwh"].value > first.values["total_kwh"].value + 20


def test_apc_logs_off_so_the_next_read_can_log_in(sim: Simulator, engine: ScrapingEngine) -> None:
    for _ in range(3):
        result = engine.scrape(request_for(sim, "apc-nmc2-ok", key="apc-twice"))
        assert result.ok, result.error


def test_down_is_unreachable_after_retries(sim: Simulator, engine: ScrapingEngine, faulty: object) -> None:
    faulty("plain").set_fault("down")  # type: ignore[operator]
    result = engine.scrape(request_for(sim, "plain-f", retries=2, backoff_s=0.01))
    assert not result.ok and result.error is not None
    assert result.error.error_class == "unreachable"
    assert result.attempts == 3
    assert evidence_files(result)


def test_slow_is_fine_within_the_budget_and_a_timeout_beyond(sim: Simulator, engine: ScrapingEngine,
                                                            faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=0.3)  # type: ignore[operator]
    assert engine.scrape(request_for(sim, "plain-f", timeout_s=5)).ok
    faulty("plain").set_fault("slow", delay=2.0)  # type: ignore[operator]
    result = engine.scrape(request_for(sim, "plain-f", timeout_s=0.5))
    assert result.error is not None and result.error.error_class == "timeout"
    assert result.duration_s < 2.0
    assert evidence_files(result)


def test_flaky_retries_then_succeeds_or_gives_up(sim: Simulator, engine: ScrapingEngine, faulty: object) -> None:
    faulty("geist").set_fault("flaky", p=0.5, seed=3)  # type: ignore[operator]
    results = [engine.scrape(request_for(sim, "geist-f", retries=6, backoff_s=0.01)) for _ in range(4)]
    assert all(r.ok for r in results), [r.error for r in results]
    assert any(r.attempts > 1 for r in results)
    faulty("geist").set_fault("flaky", p=1.0)  # type: ignore[operator]
    result = engine.scrape(request_for(sim, "geist-f", retries=2, backoff_s=0.01))
    assert result.error is not None and result.error.error_class == "unreachable"
    assert "503" in result.error.message and result.attempts == 3


@pytest.mark.parametrize("style", ["plain", "geist", "apc-nmc2", "eaton-g4", "panel-eu"])
def test_garbled_is_not_a_number(sim: Simulator, engine: ScrapingEngine, faulty: object, style: str) -> None:
    faulty(style).set_fault("garbled")  # type: ignore[operator]
    result = engine.scrape(request_for(sim, f"{style}-f", key=f"garbled-{style}"))
    assert result.error is not None and result.error.error_class == "not_a_number", result.error
    assert evidence_files(result)


@pytest.mark.parametrize(("style", "value"), [("plain", "-1"), ("geist", "N/A"), ("eaton-g4", "-1"),
                                              ("sentry", "---"), ("panel-eu", "N/A")])
def test_sentinel_is_no_value_never_zero(sim: Simulator, engine: ScrapingEngine, faulty: object, style: str,
                                         value: str) -> None:
    faulty(style).set_fault("sentinel", value=value)  # type: ignore[operator]
    result = engine.scrape(request_for(sim, f"{style}-f", key=f"sentinel-{style}"))
    assert result.error is not None and result.error.error_class == "not_a_number", result.error
    assert "reports no value" in result.error.message
    assert result.values == {}


@pytest.mark.parametrize("style", ["apc-nmc2", "apc-nmc1", "eaton-g4", "sentry"])
def test_wrong_password_is_auth_failed(sim: Simulator, engine: ScrapingEngine, faulty: object, style: str) -> None:
    faulty(style).set_fault("wrong_password")  # type: ignore[operator]
    result = engine.scrape(request_for(sim, f"{style}-f", key=f"wrongpw-{style}"))
    assert result.error is not None and result.error.error_class == "auth_failed", result.error
    assert result.attempts == 1  # not transient: never retried
    assert evidence_files(result)


def test_session_limit_is_auth_failed_with_the_device_message(sim: Simulator, engine: ScrapingEngine,
                                                              faulty: object) -> None:
    faulty("apc-nmc2").set_fault("session_limit")  # type: ignore[operator]
    result = engine.scrape(request_for(sim, "apc-nmc2-f", key="busy"))
    assert result.error is not None and result.error.error_class == "auth_failed"
    assert "currently logged in" in result.error.message


def test_selector_miss_names_what_the_page_has(sim: Simulator, engine: ScrapingEngine) -> None:
    request = request_for(sim, "apc-nmc2-ok", key="miss", values={"total_kwh": {"selector": "#kwh"}})
    result = engine.scrape(request)
    assert result.error is not None and result.error.error_class == "selector_not_found"
    message = result.error.message
    assert "`#kwh` matched nothing on" in message and "phstat.htm" in message
    assert "`#energy span.value` (12," in message and " kWh)" in message and "try Suggest" in message
    assert result.evidence.page_source is not None
    assert 'id="energy"' in result.evidence.page_source.read_text()


def test_self_signed_certificate_is_tls(sim: Simulator, engine: ScrapingEngine) -> None:
    result = engine.scrape(request_for(sim, "eaton-g4-ok", key="tls", verify_tls=True))
    assert result.error is not None and result.error.error_class == "tls"
    assert "verify_tls" in (result.error.hint or "")


def test_scrape_many_keeps_order_and_reports_in_the_callers_thread(sim: Simulator, engine: ScrapingEngine,
                                                                   faulty: object) -> None:
    faulty("plain").set_fault("down")  # type: ignore[operator]
    styles = [s for s in STYLES if s not in ("raritan", "apc-nmc2")]  # apc: one session at a time
    requests = [request_for(sim, f"{s}-ok", key=f"many-{i}-{s}", engine="http") for i, s in enumerate(styles * 4)]
    requests.insert(5, request_for(sim, "plain-f", key="many-down"))
    seen: list[tuple[str, int]] = []
    results = engine.scrape_many(requests, on_result=lambda r: seen.append((r.key, threading.get_ident())))
    assert [r.key for r in results] == [r.key for r in requests]
    assert sorted(k for k, _ in seen) == sorted(r.key for r in requests)
    assert {t for _, t in seen} == {threading.get_ident()}
    assert [r.key for r in results if not r.ok] == ["many-down"], [r.error for r in results if not r.ok]


def test_suggest_over_http_finds_the_energy(sim: Simulator, engine: ScrapingEngine) -> None:
    suggestions = engine.suggest(request_for(sim, "apc-nmc2-ok", key="suggest-apc"))
    assert suggestions[0].selector == "#energy span.value"
    assert suggestions[0].value == pytest.approx(sim.displayed_kwh("apc-nmc2-ok"), abs=0.051)
    json_suggestions = engine.suggest(request_for(sim, "eaton-g4-ok", key="suggest-eaton"))
    assert json_suggestions[0].selector == "$.measures.activeEnergy"


def test_unknown_secret_is_a_config_error(sim: Simulator, engine: ScrapingEngine) -> None:
    config = config_for(sim, "sentry-ok", auth={"password": "${NOT_SET_ANYWHERE}"})
    from nxforge.scraping import ScrapeRequest

    result = engine.scrape(ScrapeRequest(key="nosecret", config=config))
    assert result.error is not None and result.error.error_class == "config"
    assert "NOT_SET_ANYWHERE" in result.error.message
