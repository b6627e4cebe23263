"""The http engine against tiny pages served by a local server: limits and error wording."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapingEngine
from nxforge.secrets import SecretStore

PAGES = {
    "/status.htm": '<html><body><div id="total-kwh">12,543.5 kWh</div><div id="kw">2.30 kW</div></body></html>',
    "/data.json": '{"energy": {"value": "12.543,5"}}',
}


class Handler(BaseHTTPRequestHandler):
    """Serves PAGES, a 6 MB page, a redirect loop and a 503."""

    def do_GET(self) -> None:
        if self.path == "/big":
            body = b"<html>" + b"x" * (6 * 1024 * 1024)
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif self.path in PAGES:
            body = PAGES[self.path].encode()
        else:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
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
def http_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    root = tmp_path_factory.mktemp("pages")
    with ScrapingEngine(secrets=SecretStore(environ={}), evidence_dir=root / "e", state_dir=root / "s") as engine:
        yield engine


def scrape(engine: ScrapingEngine, url: str, selector: str = "#total-kwh", **extra: object) -> object:
    config = ScrapeConfig.model_validate({"url": url, "engine": "http", "retries": 0,
                                          "values": {"total_kwh": {"selector": selector, "unit": "kWh",
                                                                   **extra}}})
    return engine.scrape(ScrapeRequest(key=url, config=config))


def test_reads_and_converts(server: str, http_engine: ScrapingEngine) -> None:
    result = scrape(http_engine, f"{server}/status.htm")
    assert result.ok and result.values["total_kwh"].value == 12543.5  # type: ignore[attr-defined]
    json_result = scrape(http_engine, f"{server}/data.json", "$.energy.value", decimal=",")
    assert json_result.values["total_kwh"].value == 12543.5  # type: ignore[attr-defined]


def test_message_for_a_missed_selector(server: str, http_engine: ScrapingEngine) -> None:
    result = scrape(http_engine, f"{server}/status.htm", "#kwh")
    error = result.error  # type: ignore[attr-defined]
    assert error.error_class == "selector_not_found"
    assert error.message == (f"value `total_kwh`: the selector `#kwh` matched nothing on {server}/status.htm; "
                             "elements that look like energy: `#total-kwh` (12,543.5 kWh): try Suggest")


def test_limits(server: str, http_engine: ScrapingEngine) -> None:
    assert scrape(http_engine, f"{server}/big").error.error_class == "step_failed"  # type: ignore[attr-defined]
    loop = scrape(http_engine, f"{server}/loop").error  # type: ignore[attr-defined]
    assert loop.error_class == "step_failed" and "redirected more than 5" in loop.message
    assert scrape(http_engine, f"{server}/gone").error.error_class == "unreachable"  # type: ignore[attr-defined]


def test_xpath_without_lxml_is_a_clear_config_error(server: str, http_engine: ScrapingEngine) -> None:
    pytest.importorskip("selectolax")
    try:
        import lxml  # noqa: F401
    except ImportError:
        error = scrape(http_engine, f"{server}/status.htm", "//div[@id='total-kwh']").error  # type: ignore[attr-defined]
        assert error.error_class == "config" and "lxml" in error.message
    else:
        assert scrape(http_engine, f"{server}/status.htm", "//div[@id='total-kwh']").ok  # type: ignore[attr-defined]


def test_unreachable_port(http_engine: ScrapingEngine, tmp_path: Path) -> None:
    result = scrape(http_engine, "http://127.0.0.1:9/status.htm")
    assert result.error.error_class == "unreachable"  # type: ignore[attr-defined]
