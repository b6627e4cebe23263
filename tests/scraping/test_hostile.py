"""Hostile and malformed devices: every answer is bounded in time and size and recorded as an error.

Both engines against the simulator's hostile faults (huge, endless, endless_redirect, binary,
slowloris, blackhole). The engine here caps bodies at 1 MiB so a streaming device trips the cap
quickly; timeouts are short so the module stays fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from nxforge.scraping import ScrapeResult, ScrapingEngine
from nxforge.simulator import Simulator

from .conftest import new_engine, request_for

CAP = 1024 * 1024
TIMEOUT_S = 1.0
# The engine's own bound on an attempt is timeout_s + 2 s of grace; a hostile device must be
# classified by the deadline inside the engines (the tests check the message is the deadline's, not the
# backstop's), and the whole attempt stays within that bound even on a loaded machine.
WITHIN = TIMEOUT_S + 2.0
BROWSER = pytest.param("browser", marks=pytest.mark.browser)
ENGINES = ["http", BROWSER]


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    root = tmp_path_factory.mktemp("hostile")
    with new_engine(ScrapingEngine, root, max_body_bytes=CAP) as scraping:
        yield scraping


def scrape(engine: ScrapingEngine, sim: Simulator, which: str, key: str, **overrides: Any) -> ScrapeResult:
    if which == "browser":  # Chromium launched (once) outside the measured scrape
        engine.scrape(request_for(sim, "plain-ok", key="warm-browser", engine="browser"))
    overrides.setdefault("timeout_s", TIMEOUT_S)
    return engine.scrape(request_for(sim, "plain-f", key=f"{which}-{key}", engine=which, **overrides))


def source_text(result: ScrapeResult) -> str:
    assert result.evidence.page_source is not None and result.evidence.page_source.exists()
    return result.evidence.page_source.read_text()


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("phase", ["headers", "body"])
def test_slowloris_times_out_at_the_deadline(sim: Simulator, warm: ScrapingEngine, faulty: Any,
                                             engine_name: str, phase: str) -> None:
    # 0.05 s a byte: every read succeeds long before a per-read timeout, so only a
    # whole-request deadline can stop it.
    faulty("plain").set_fault("slowloris", interval=0.05, phase=phase)
    result = scrape(warm, sim, engine_name, f"slowloris-{phase}")
    assert result.error is not None and result.error.error_class == "timeout", result.error
    assert "the scrape took longer" not in result.error.message, "the engine's backstop fired, not the deadline"
    assert result.duration_s < WITHIN
    if engine_name == "http":
        expected = "sent no complete response headers" if phase == "headers" else "sent only"
        assert expected in result.error.message
    assert result.evidence.page_source is not None


@pytest.mark.parametrize("engine_name", ENGINES)
def test_blackhole_times_out_at_the_deadline(sim: Simulator, warm: ScrapingEngine, faulty: Any,
                                             engine_name: str) -> None:
    faulty("plain").set_fault("blackhole")
    result = scrape(warm, sim, engine_name, "blackhole")
    assert result.error is not None and result.error.error_class == "timeout", result.error
    assert "the scrape took longer" not in result.error.message
    assert result.duration_s < WITHIN
    assert result.attempts == 1  # retries=0 in these configs; a timeout is transient otherwise


def test_blackhole_is_retried_as_transient(sim: Simulator, warm: ScrapingEngine, faulty: Any) -> None:
    faulty("plain").set_fault("blackhole")
    result = scrape(warm, sim, "http", "blackhole-retry", timeout_s=0.3, retries=1, backoff_s=0.01)
    assert result.error is not None and result.error.error_class == "timeout"
    assert result.attempts == 2 and result.duration_s < 2 * 0.3 + 1.0


@pytest.mark.parametrize("engine_name", ENGINES)
def test_huge_page_is_refused_from_its_content_length(sim: Simulator, warm: ScrapingEngine, faulty: Any,
                                                      engine_name: str) -> None:
    faulty("plain").set_fault("huge", mb=50)
    result = scrape(warm, sim, engine_name, "huge", timeout_s=5)
    assert result.error is not None and result.error.error_class == "step_failed", result.error
    assert "50.0 MB" in result.error.message and "1.0 MB" in result.error.message
    assert result.duration_s < 2.0, "the body must not be downloaded"
    assert len(source_text(result)) < 150_000, "at most the start of the page is kept"


@pytest.mark.parametrize("engine_name", ENGINES)
def test_endless_body_is_cut_at_the_cap(sim: Simulator, warm: ScrapingEngine, faulty: Any,
                                        engine_name: str) -> None:
    faulty("plain").set_fault("endless")
    started = time.monotonic()
    result = scrape(warm, sim, engine_name, "endless", timeout_s=10)
    assert result.error is not None and result.error.error_class == "step_failed", result.error
    assert "sent more than 1.0 MB" in result.error.message
    assert time.monotonic() - started < 8.0, "the cap, not the 10 s deadline, must end it"
    source = source_text(result)
    assert len(source) < 150_000, "the evidence keeps only the start of the page"
    if engine_name == "http":
        assert "truncated by NxForge" in source and "lorem ipsum" in source


@pytest.mark.parametrize("engine_name", ENGINES)
def test_endless_redirect_is_a_loop_with_a_hint(sim: Simulator, warm: ScrapingEngine, faulty: Any,
                                                engine_name: str) -> None:
    faulty("plain").set_fault("endless_redirect")
    result = scrape(warm, sim, engine_name, "redirect", timeout_s=5, retries=2)
    assert result.error is not None and result.error.error_class == "step_failed", result.error
    assert "redirect loop" in result.error.message
    assert result.error.hint is not None and "open the url in a browser" in result.error.hint
    assert result.attempts == 1, "a loop is not transient: never retried"
    assert result.duration_s < 3.0


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/html"])
def test_binary_content_is_named_as_such(sim: Simulator, warm: ScrapingEngine, faulty: Any, engine_name: str,
                                         content_type: str) -> None:
    faulty("plain").set_fault("binary", content_type=content_type)
    result = scrape(warm, sim, engine_name, f"binary-{content_type.replace('/', '-')}", timeout_s=1.5)
    assert result.error is not None and result.error.error_class == "selector_not_found", result.error
    assert "binary" in result.error.message
    assert result.values == {}
    if engine_name == "http":
        source = source_text(result)
        assert "binary response not kept" in source and len(source) < 1000


def test_binary_where_json_is_expected(sim: Simulator, warm: ScrapingEngine, faulty: Any) -> None:
    faulty("geist").set_fault("binary")
    result = warm.scrape(request_for(sim, "geist-f", key="binary-json", timeout_s=TIMEOUT_S))
    assert result.error is not None and result.error.error_class == "selector_not_found", result.error
    assert "binary content (application/octet-stream, 65536 bytes)" in result.error.message


def test_a_hostile_fleet_never_holds_up_the_healthy_devices(sim: Simulator, warm: ScrapingEngine,
                                                            faulty: Any) -> None:
    hostile = {"plain": ("blackhole", {}), "geist": ("endless", {}), "panel-eu": ("slowloris", {"interval": 0.05}),
               "apc-nmc1": ("huge", {}), "sentry": ("endless_redirect", {}), "raritan": ("binary", {})}
    for style, (fault, params) in hostile.items():
        faulty(style).set_fault(fault, **params)
    presets = {"raritan": "raritan-api"}
    requests = [request_for(sim, f"{style}-f", key=f"fleet-{style}", engine="http", timeout_s=TIMEOUT_S,
                            preset=presets.get(style, style)) for style in hostile]
    requests += [request_for(sim, f"{style}-ok", key=f"fleet-ok-{style}", engine="http", timeout_s=TIMEOUT_S)
                 for style in ("plain", "geist", "panel-eu")]
    started = time.monotonic()
    results = {r.key: r for r in warm.scrape_many(requests)}
    assert time.monotonic() - started < WITHIN
    assert all(results[f"fleet-ok-{s}"].ok for s in ("plain", "geist", "panel-eu"))
    classes = {style: results[f"fleet-{style}"].error.error_class  # type: ignore[union-attr]
               for style in hostile}
    assert classes == {"plain": "timeout", "geist": "step_failed", "panel-eu": "timeout",
                       "apc-nmc1": "step_failed", "sentry": "step_failed", "raritan": "selector_not_found"}
