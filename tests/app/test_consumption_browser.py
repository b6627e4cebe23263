"""The consumption monitor's pages in real Chromium against a real ``streamlit run``, as a new user would.

Finance browses Live and History and downloads the month's CSV (byte for byte what ``nxforge
billing`` prints); ops edits an endpoint with a bad value and sees the error, then tests an
endpoint against the meter simulator and sees the browser's screenshot; a viewer cannot open the
Endpoints page by its URL. Screenshots (``consumption-*.png``) land in a temporary folder, or in
``docs/screenshots/`` when ``scripts/screenshots.sh`` runs this file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from nxforge.environment import Environment
from nxforge.simulator import Simulator
from tests.app.conftest import write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR, seed_consumption
from tests.app.endpoints_site import POLL_LINE, write_endpoints
from tests.app.streamlit_server import StreamlitServer
from tests.app.test_browser import TIMEOUT_MS, heading, no_traceback, settled, sign_in

pytestmark = pytest.mark.browser

MONTH = "2026-03"  # the month consumption_site seeds


@pytest.fixture(scope="module")
def site_env(tmp_path_factory: pytest.TempPathFactory, sim: Simulator) -> dict[str, str]:
    """30 endpoints with March readings (consumption_site) plus two YAML endpoints on the simulator."""
    base = tmp_path_factory.mktemp("consumption-browser")
    for folder in ("config", "data"):
        (base / folder).mkdir()
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"),
        "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(MODULES_DIR),
        "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "NXFORGE_LOG_LEVEL": "WARNING",
    }
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    write_users(env)
    seed_consumption(env, endpoints=30)
    write_endpoints(env, sim)  # not synced: the seeded endpoints stay as they are
    return variables


@pytest.fixture(scope="module")
def server(site_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    started = StreamlitServer(site_env, tmp_path_factory.mktemp("logs") / "streamlit.log").start()
    yield started
    started.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


def shoot(page: Page, folder: Path, name: str) -> None:
    """Save the page (no hover tooltip) as ``<folder>/<name>.png``."""
    page.mouse.move(5, 5)
    settled(page)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 0


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label`` (typing filters long lists)."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.locator("input").click()
    box.locator("input").fill(option)
    page.get_by_role("option", name=option).first.click()


def billing_cli(site_env: dict[str, str], month: str) -> bytes:
    """What ``nxforge billing --month M --format csv`` prints, run with the server's environment."""
    script = Path(sys.executable).with_name("nxforge")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "nxforge.cli"]
    done = subprocess.run(
        [*command, "billing", "--month", month, "--format", "csv"],
        env={**os.environ, **site_env}, capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def test_finance_browses_live_and_history_and_downloads_the_billing_csv(
    server: StreamlitServer, page: Page, site_env: dict[str, str], screenshots: Path
) -> None:
    sign_in(page, server.url, "finance")
    heading(page, "Live status")
    expect(page.get_by_test_id("stMetric").filter(has_text="stale")).to_be_visible()
    no_traceback(page)
    shoot(page, screenshots, "consumption-live")

    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Endpoints")).to_have_count(0)
    nav.get_by_role("link", name="History").click()
    heading(page, "History")
    choose(page, "Range", "1 year")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    no_traceback(page)
    shoot(page, screenshots, "consumption-history")

    nav.get_by_role("link", name="Billing reports").click()
    heading(page, "Billing reports")
    choose(page, "Month", MONTH)
    page.get_by_role("tab", name="Per endpoint").click()
    button = page.get_by_role("button", name="Download CSV (endpoint)")
    expect(button).to_be_visible()
    no_traceback(page)
    shoot(page, screenshots, "consumption-reports")
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert download.suggested_filename == f"billing-{MONTH}-by-endpoint.csv"
    downloaded = Path(download.path()).read_bytes()
    expected = billing_cli(site_env, MONTH)
    assert downloaded == expected
    assert downloaded.count(b"\n") >= 31  # a header and the 30 seeded endpoints


def test_ops_sees_a_bad_value_on_its_line_and_tests_against_the_simulator(
    server: StreamlitServer, page: Page, screenshots: Path
) -> None:
    sign_in(page, f"{server.url}/consumption-monitor-endpoints", "ops")
    heading(page, "Endpoints")
    poll = page.get_by_role("textbox", name="Poll interval")
    expect(poll).to_have_value("15m")
    poll.fill("5s")
    poll.press("Enter")
    settled(page, quiet_ms=600)
    page.get_by_role("button", name="Save").click()
    error = page.get_by_test_id("stAlertContentError").filter(has_text="poll_interval")
    expect(error).to_contain_text(f"site.yaml:{POLL_LINE}")
    expect(error).to_contain_text("at least 10s")
    expect(page.get_by_text("nothing was saved").first).to_be_visible()
    no_traceback(page)

    choose(page, "Endpoint", "plain-b — Rack 02 feed A (not synced)")
    expect(page.get_by_role("textbox", name="Poll interval")).to_have_value("")
    settled(page, quiet_ms=600)
    page.get_by_role("button", name="Test", exact=True).click()
    image = page.get_by_test_id("stImage").locator("img")
    expect(image).to_be_visible(timeout=60_000)
    assert image.evaluate("img => img.naturalWidth") > 100  # a real screenshot, not a broken image
    expect(page.get_by_test_id("stMetric").filter(has_text="total_kwh")).to_contain_text("kWh")
    no_traceback(page)
    page.get_by_role("heading", name="Test result").evaluate("e => e.scrollIntoView()")
    shoot(page, screenshots, "consumption-endpoints-test")
    page.get_by_role("heading", name="Endpoints", exact=True).scroll_into_view_if_needed()
    shoot(page, screenshots, "consumption-endpoints")


def test_a_viewer_cannot_reach_the_endpoints_page_by_url(server: StreamlitServer, page: Page) -> None:
    sign_in(page, f"{server.url}/consumption-monitor-endpoints", "viewer")
    heading(page, "Live status")
    expect(page.get_by_role("heading", name="Endpoints", exact=True)).to_have_count(0)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="History")).to_be_visible()
    expect(nav.get_by_role("link", name="Endpoints")).to_have_count(0)
    expect(nav.get_by_role("link", name="Billing reports")).to_have_count(0)
