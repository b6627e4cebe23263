"""The JavaScript programs of the browser engine: shipped as package data and run by real Chromium.

The simulator suites cover most programs; these pages reach the two paths they do not: a value
read through a Playwright-only selector (``element_value.js``) and a JSON answer read in the
browser (``body_text.js``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine, browser_js
from nxforge.secrets import SecretStore

PAGES = {
    "/status.htm": '<html><body><div>Power 2.30 kW</div><div class="e">Energy 12,543.5 kWh</div></body></html>',
    "/data.json": '{"energy": {"value": "12543.5"}}',
}


class Handler(BaseHTTPRequestHandler):
    """Serves PAGES."""

    def do_GET(self) -> None:
        body = PAGES[self.path].encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if self.path.endswith(".json") else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    root = tmp_path_factory.mktemp("browser-js")
    with ScrapingEngine(secrets=SecretStore(environ={}), evidence_dir=root / "e", state_dir=root / "s") as scraping:
        yield scraping


def browser_scrape(engine: ScrapingEngine, url: str, selector: str, **extra: object) -> ScrapeResult:
    config = ScrapeConfig.model_validate({"url": url, "engine": "browser", "retries": 0,
                                          "values": {"total_kwh": {"selector": selector, "unit": "kWh", **extra}}})
    return engine.scrape(ScrapeRequest(key=url, config=config))


def test_every_program_is_package_data() -> None:
    shipped = sorted(p.name for p in files("nxforge.scraping").joinpath("js").iterdir() if p.name.endswith(".js"))
    loaded = [name for name in dir(browser_js) if name.isupper()]
    assert len(shipped) == len(loaded) == 7
    assert all(getattr(browser_js, name).startswith("// ") for name in loaded)


@pytest.mark.browser
def test_playwright_only_selector_and_json_in_the_browser(server: str, engine: ScrapingEngine) -> None:
    by_text = browser_scrape(engine, f"{server}/status.htm", 'div:has-text("kWh")', regex=r"([\d.,]+)\s*kWh")
    assert by_text.ok, by_text.error
    assert by_text.values["total_kwh"].value == pytest.approx(12543.5)
    as_json = browser_scrape(engine, f"{server}/data.json", "$.energy.value")
    assert as_json.ok, as_json.error
    assert as_json.values["total_kwh"].value == pytest.approx(12543.5)
