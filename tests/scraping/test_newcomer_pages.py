"""Pages as a newcomer configures them, on both engines, against the simulator's ``quirks`` style.

XPath (HTML and XML), open shadow roots, a unit in an attribute or beside the value, values at
the resolution the device shows, a wait for a text, Suggest on split digits and XML, and a kept
session reused when ``url`` is the login page (real HTTP on 127.0.0.1, real Chromium).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine
from nxforge.scraping.config import ValueSpec, WaitStep
from nxforge.scraping.document import Document
from nxforge.simulator import DeviceSpec, SimClock, Simulator

from .conftest import PASSWORD

ENGINES = ["http", pytest.param("browser", marks=pytest.mark.browser)]


@pytest.fixture(scope="module")
def quirks() -> Iterator[Simulator]:
    """Quirky pages (12543.5 kWh, and 333444.437 kWh for resolution) and one APC card per engine."""
    devices = [
        DeviceSpec(id="quirks-a", style="quirks", power_kw=2.3, initial_kwh=12543.5),
        DeviceSpec(id="quirks-big", style="quirks", power_kw=2.3, initial_kwh=333444.437),
        DeviceSpec(id="apc-keep-http", style="apc-nmc2", power_kw=2.3, initial_kwh=12543.5, password=PASSWORD),
        DeviceSpec(id="apc-keep-browser", style="apc-nmc2", power_kw=2.3, initial_kwh=12543.5, password=PASSWORD),
    ]
    simulator = Simulator(devices, clock=SimClock(start=datetime(2025, 1, 1, tzinfo=UTC), frozen=True)).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def read(engine: ScrapingEngine, url: str, engine_name: str, capture: bool = False, key: str | None = None,
         steps: list[dict[str, Any]] | None = None, **values: dict[str, Any]) -> ScrapeResult:
    """Scrape ``values`` from ``url`` with one engine."""
    config = ScrapeConfig.model_validate({"url": url, "engine": engine_name, "retries": 0, "values": values,
                                          "steps": steps or []})
    return engine.scrape(ScrapeRequest(key=key or f"{engine_name}:{url}", config=config, capture_evidence=capture))


def page(sim: Simulator, name: str, device: str = "quirks-a") -> str:
    return sim.url_for(device) + name


@pytest.mark.parametrize("engine_name", ENGINES)
def test_xpath_on_html_and_on_xml_with_a_namespace(quirks: Simulator, engine: ScrapingEngine,
                                                   engine_name: str) -> None:
    html = read(engine, page(quirks, "units.html"), engine_name,
                cell={"selector": "//td[@id='cell-kwh']", "unit": "kWh"},
                text_node={"selector": "xpath=//tr[2]/td[1]/text()", "unit": "kWh"})
    assert html.ok, html.error
    assert html.values["cell"].value == html.values["text_node"].value == 12543.5
    xml = read(engine, page(quirks, "status.xml"), engine_name, capture=True,
               total_kwh={"selector": "//energy", "unit": "kWh", "unit_from": "@unit"},
               power_w={"selector": "//inlet[@id='A']/power", "unit": "W"})
    assert xml.ok, xml.error
    assert xml.values["total_kwh"].value == 12543.5 and xml.values["total_kwh"].raw_text == "12543500 Wh"
    assert xml.values["power_w"].value == 2300
    assert xml.evidence.page_source is not None  # kept as the XML the device sent, not the browser's viewer
    kept = xml.evidence.page_source.read_text(encoding="utf-8")
    assert kept.splitlines()[1].startswith("<?xml") and "xml-viewer" not in kept
    assert '<energy unit="Wh">12543500</energy>' in kept


@pytest.mark.parametrize("engine_name", ENGINES)
def test_unit_from_an_attribute_or_beside_the_value(quirks: Simulator, engine: ScrapingEngine,
                                                    engine_name: str) -> None:
    result = read(engine, page(quirks, "units.html"), engine_name,
                  in_attribute={"selector": "#attr-wh", "unit": "kWh", "unit_from": "@data-unit"},
                  next_cell={"selector": "#cell-kwh", "unit": "Wh", "unit_from": "next"},
                  after_span={"selector": "#text-mwh", "unit": "kWh", "unit_from": "next"})
    assert result.ok, result.error
    assert result.values["in_attribute"].value == 12543.5
    assert result.values["next_cell"].value == 12543500 and result.values["next_cell"].unit == "Wh"
    assert result.values["after_span"].value == 12543.5
    if engine_name == "browser":  # a Playwright-only selector reads through a locator, unit_from too
        located = read(engine, page(quirks, "units.html"), engine_name,
                       total_kwh={"selector": "#readings >> #attr-wh", "unit": "kWh", "unit_from": "@data-unit"})
        assert located.ok and located.values["total_kwh"].value == 12543.5, located.error
    wrong = read(engine, page(quirks, "units.html"), engine_name,
                 total_kwh={"selector": "#attr-wh", "unit": "kWh", "unit_from": "@class"})
    assert wrong.error is not None and wrong.error.error_class == "pattern_no_match"
    assert "unit_from '@class': attribute `class` says `value`, not a unit" in wrong.error.message


@pytest.mark.parametrize("engine_name", ENGINES)
def test_values_keep_the_resolution_the_device_shows(quirks: Simulator, engine: ScrapingEngine,
                                                     engine_name: str) -> None:
    assert 333444437 * 0.001 != 333444.437  # what binary floating point gives
    result = read(engine, page(quirks, "status.xml", "quirks-big"), engine_name,
                  scaled={"selector": "//energy", "unit": "kWh", "scale": 0.001},
                  converted={"selector": "//energy", "unit": "kWh", "unit_from": "@unit"},
                  mwh={"selector": "//energy", "unit": "MWh", "unit_from": "@unit"})
    assert result.ok, result.error
    assert result.values["scaled"].value == 333444.437 and repr(result.values["scaled"].value) == "333444.437"
    assert repr(result.values["converted"].value) == "333444.437"
    assert repr(result.values["mwh"].value) == "333.444437"


@pytest.mark.parametrize("engine_name", ENGINES)
def test_split_digits_are_read_and_suggested_whole(quirks: Simulator, engine: ScrapingEngine,
                                                   engine_name: str) -> None:
    result = read(engine, page(quirks, "split.html"), engine_name, total_kwh={"selector": "#energy", "unit": "kWh"})
    assert result.ok, result.error
    assert result.values["total_kwh"].value == 12543.5
    config = ScrapeConfig.model_validate({"url": page(quirks, "split.html"), "engine": engine_name,
                                          "values": {"total_kwh": {"selector": "#x"}}})
    suggestions = engine.suggest(ScrapeRequest(key=f"suggest-split-{engine_name}", config=config))
    assert suggestions[0].selector == "#energy" and suggestions[0].value == 12543.5
    assert all(s.value != 12543 for s in suggestions)  # the integer part alone is not proposed


@pytest.mark.parametrize("engine_name", ENGINES)
def test_suggest_reads_xml_with_the_unit_in_an_attribute(quirks: Simulator, engine: ScrapingEngine,
                                                         engine_name: str) -> None:
    config = ScrapeConfig.model_validate({"url": page(quirks, "status.xml"), "engine": engine_name,
                                          "values": {"total_kwh": {"selector": "//nothing"}}})
    suggestions = engine.suggest(ScrapeRequest(key=f"suggest-xml-{engine_name}", config=config))
    best = suggestions[0]
    assert (best.selector, best.value, best.unit, best.unit_from) == ("//energy", 12543.5, "kWh", "@unit")
    again = read(engine, page(quirks, "status.xml"), engine_name,
                 total_kwh={"selector": best.selector, "unit": best.unit, "unit_from": best.unit_from})
    assert again.values["total_kwh"].value == best.value


@pytest.mark.browser
def test_open_shadow_roots_are_read_suggested_and_kept_in_evidence(quirks: Simulator,
                                                                   engine: ScrapingEngine) -> None:
    result = read(engine, page(quirks, "shadow.html"), "browser", capture=True,
                  total_kwh={"selector": "#shadow-kwh", "unit": "kWh"},
                  nested_kw={"selector": "#shadow-kw", "unit": "kW"},  # a shadow root in a shadow root
                  by_xpath={"selector": "//span[@id='shadow-kwh']", "unit": "kWh"})
    assert result.ok, result.error
    assert result.values["total_kwh"].value == result.values["by_xpath"].value == 12543.5
    assert result.values["nested_kw"].value == 2.3
    assert result.evidence.page_source is not None
    source = result.evidence.page_source.read_text(encoding="utf-8")
    assert source.count('shadowrootmode="open"') == 2 and 'id="shadow-kwh"' in source and "2.30 kW" in source
    config = ScrapeConfig.model_validate({"url": page(quirks, "shadow.html"), "engine": "browser",
                                          "values": {"total_kwh": {"selector": "#x"}}})
    suggestions = engine.suggest(ScrapeRequest(key="suggest-shadow", config=config))
    assert suggestions[0].selector == "#shadow-kwh" and suggestions[0].value == 12543.5
    missed = read(engine, page(quirks, "shadow.html"), "browser", total_kwh={"selector": "#kwh", "unit": "kWh"})
    assert missed.error is not None and "`#shadow-kwh` (12,543.5 kWh)" in missed.error.message


@pytest.mark.browser
def test_wait_until_an_element_contains_a_text(quirks: Simulator, engine: ScrapingEngine) -> None:
    url = page(quirks, "late.html")
    stale = read(engine, url, "browser", total_kwh={"selector": "#kwh", "unit": "kWh"})
    assert stale.values["total_kwh"].value == 0.0  # what a read without the wait gets
    steps = [{"action": "wait", "selector": "#status", "text": "updated"}]
    fresh = read(engine, url, "browser", steps=steps, total_kwh={"selector": "#kwh", "unit": "kWh"})
    assert fresh.ok, fresh.error
    assert fresh.values["total_kwh"].value == 12543.5
    never = read(engine, url, "browser", steps=[{"action": "wait", "selector": "#status", "text": "Failed",
                                                 "timeout_s": 1.5}],
                 total_kwh={"selector": "#kwh", "unit": "kWh"})
    assert never.error is not None and never.error.error_class == "step_failed"
    assert "never contained `Failed`" in never.error.message


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_kept_session_is_reused_when_url_is_the_login_page(quirks: Simulator, engine: ScrapingEngine,
                                                             engine_name: str) -> None:
    device = quirks.device(f"apc-keep-{engine_name}")
    config = ScrapeConfig.model_validate({
        "preset": "apc-nmc2", "url": quirks.url_for(device.spec.id) + "logon.htm", "engine": engine_name,
        "retries": 0, "auth": {"password": "${SIM_PASSWORD}", "logout_url": None, "keep_session": True}})
    request = ScrapeRequest(key=f"keep-{engine_name}", config=config)
    runs = [engine.scrape(request) for _ in range(3)]
    assert all(run.ok for run in runs), [run.error for run in runs]
    logins = [any(t.name == "login" for t in run.timings) for run in runs]
    assert logins == [True, False, False]
    assert device.sessions.active() == 1  # one session, reused (the card allows no second one)
    device.sessions.clear()  # the card forgot it (idle timeout, reboot): the next run logs in again
    again = engine.scrape(request)
    assert again.ok, again.error
    assert any(t.name == "login" for t in again.timings)


def test_config_accepts_what_the_pages_need_and_says_what_is_wrong() -> None:
    assert WaitStep.model_validate({"action": "wait", "selector": "#status", "text": "Updated"}).text == "Updated"
    with pytest.raises(ValidationError, match="give ms alone"):
        WaitStep.model_validate({"action": "wait", "ms": 100, "text": "Updated"})
    assert ValueSpec.model_validate({"selector": "//energy", "unit_from": "@unit"}).kind == "xpath"
    with pytest.raises(ValidationError, match='give "@name"'):
        ValueSpec.model_validate({"selector": "#kwh", "unit_from": "unit"})
    with pytest.raises(ValidationError, match="unit_from and decimal are for web pages"):
        ScrapeConfig.model_validate({"url": "modbus://127.0.0.1:5020", "engine": "modbus",
                                     "values": {"e": {"selector": "holding:3203", "unit_from": "next"}}})


def test_http_documents_see_declarative_shadow_roots_and_refuse_xml_entities() -> None:
    shadow = Document("http://meter/", '<html><body><energy-card><template shadowrootmode="open"><div>'
                      '<span id="kwh">12,543.5 kWh</span></div></template></energy-card></body></html>')
    spec = ValueSpec.model_validate({"selector": "#kwh"})
    assert shadow.find(spec) == (True, "12,543.5 kWh") and shadow.has("#kwh")
    hostile = Document("http://meter/status.xml", '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM '
                       '"file:///etc/hostname">]><m><energy>&x;12</energy></m>', "text/xml")
    found, text = hostile.find(ValueSpec.model_validate({"selector": "//energy"}))
    assert found and text == "&x;12"  # the entity stays a reference: nothing is read from the disk
