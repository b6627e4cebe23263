"""The Energy view in real Chromium against a real ``streamlit run``: the bars drawn are the seeded energy,
and the range selector changes what the chart shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from nxforge.environment import Environment
from tests.app.conftest import write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR, seed_consumption
from tests.app.streamlit_server import StreamlitServer
from tests.app.test_browser import TIMEOUT_MS, heading, no_traceback, settled, sign_in

pytestmark = pytest.mark.browser
ENDPOINTS = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    base = tmp_path_factory.mktemp("energy-browser")
    for folder in ("config", "data"):
        (base / folder).mkdir()
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"), "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(MODULES_DIR), "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "NXFORGE_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    write_users(env)
    seed_consumption(env, endpoints=ENDPOINTS)
    started = StreamlitServer(variables, base / "streamlit.log").start()
    yield started
    started.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


def _plot(page: Page) -> dict[str, Any]:
    """The data and x range Plotly has drawn in the first chart."""
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    result: dict[str, Any] = chart.evaluate(
        "(el) => ({data: el.data.map(t => ({type: t.type, name: t.name, y: Array.from(t.y || [])})),"
        " range: el._fullLayout.xaxis.range})"
    )
    return result


def test_energy_bars_show_the_seeded_energy_and_the_range_selector_narrows_them(
    server: StreamlitServer, page: Page, screenshots: Path
) -> None:
    sign_in(page, server.url, "viewer")
    heading(page, "Live status")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Energy").click()
    heading(page, "Energy")
    page.get_by_test_id("stButtonGroup").get_by_text("Month", exact=True).click()
    settled(page)
    no_traceback(page)
    if page.get_by_text("No readings in this period").count():
        pytest.skip("the seeded readings (March 2026) are not in the clock's year")
    drawn = _plot(page)
    bars = [trace for trace in drawn["data"] if trace["type"] == "bar"]
    # every endpoint rose 1.5 kWh an hour over 42 hours; ep-0000 lost its last 6-hour reading
    assert sum(sum(trace["y"]) for trace in bars) == pytest.approx(ENDPOINTS * 42 * 1.5 - 6 * 1.5)
    before = drawn["range"]
    page.screenshot(path=str(screenshots / "consumption-energy-year.png"), full_page=True)
    page.locator(".rangeselector .button").filter(has_text="1m").first.click()
    settled(page)
    after = _plot(page)["range"]
    assert after != before
    page.screenshot(path=str(screenshots / "consumption-energy.png"), full_page=True)
