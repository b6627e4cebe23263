"""Temperature trends in real Chromium against a real ``streamlit run``: what Plotly draws is the stored
readings of the chosen dates on the site's wall clock (Europe/Paris), before and after the range changes,
and the limit lines carry their kind, level and value."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import Column, Float, MetaData, String, Table, select

from nxforge.db.engine import create_db_engine
from nxforge.db.types import UTCDateTime
from nxforge.environment import Environment
from tests.app.conftest import write_core_config, write_users
from tests.app.streamlit_server import StreamlitServer
from tests.app.temperature_site import MODULES_DIR, forget_module, seed_temperatures
from tests.app.test_browser import FIRST_PAGE_MS, TIMEOUT_MS, heading, no_traceback, settled, sign_in

pytestmark = pytest.mark.browser
PARIS = ZoneInfo("Europe/Paris")  # write_core_config's site zone
HISTORY_DAYS = 10
SHOWN = ["r01-inlet", "r01-exhaust", "r01-cpu"]  # the page's default choice: the first three sensors
NAMES = {"r01-inlet": "R01 inlet", "r01-exhaust": "R01 exhaust", "r01-cpu": "R01 cpu"}
READINGS = Table("tm_readings", MetaData(), Column("sensor_id", String), Column("at", UTCDateTime),
                 Column("value", Float))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StreamlitServer, Environment]]:
    base = tmp_path_factory.mktemp("temperature-browser")
    for folder in ("config", "data"):
        (base / folder).mkdir()
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"), "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(MODULES_DIR), "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "NXFORGE_LOG_LEVEL": "WARNING", "BMC_PASSWORD": "secret",
    }  # fmt: skip
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    write_users(env)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BMC_PASSWORD", "secret")
        assert seed_temperatures(env, history_days=HISTORY_DAYS) == 6
    forget_module()
    started = StreamlitServer(variables, base / "streamlit.log").start()
    yield started, env
    started.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="UTC")
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


def stored(env: Environment, start: datetime, end: datetime) -> dict[str, list[tuple[str, float]]]:
    """Sensor id -> (time on the site's wall clock, value) of its readings in [start, end), from the database."""
    engine = create_db_engine(env.database_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(READINGS.c.sensor_id, READINGS.c.at, READINGS.c.value).where(
                READINGS.c.sensor_id.in_(SHOWN), READINGS.c.at >= start, READINGS.c.at < end,
                READINGS.c.value.is_not(None)).order_by(READINGS.c.at)).all()
    finally:
        engine.dispose()
    found: dict[str, list[tuple[str, float]]] = {sensor: [] for sensor in SHOWN}
    for sensor_id, at, value in rows:
        found[sensor_id].append((at.astimezone(PARIS).isoformat(), value))
    return found


def drawn(page: Page) -> dict[str, Any]:
    """The first chart as Plotly holds it: each trace's points, the x range shown and the annotations' text."""
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible(timeout=FIRST_PAGE_MS)  # Plotly's script loads on first use: slow when loaded
    result: dict[str, Any] = chart.evaluate(
        "(el) => ({data: el.data.map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])})),"
        " range: el._fullLayout.xaxis.range, notes: (el._fullLayout.annotations || []).map(a => a.text)})"
    )
    return result


def points(trace: dict[str, Any], low: str | None = None, high: str | None = None) -> list[tuple[str, float]]:
    """A trace's (x, y) points, the gap breaks left out, within [low, high] on the wall clock when given."""
    def inside(x: str) -> bool:
        wall = x[:19].replace("T", " ")
        return (low is None or wall >= low[:19]) and (high is None or wall <= high[:19])

    return [(x, y) for x, y in zip(trace["x"], trace["y"], strict=True) if y is not None and inside(x)]


def set_dates(page: Page, first: date, last: date) -> None:
    """Type a range into the date input's segments (year, month, day of each end), as a keyboard user does."""
    for which, day in (("start", first), ("end", last)):
        for part, digits in (("year", f"{day:%Y}"), ("month", f"{day:%m}"), ("day", f"{day:%d}")):
            page.get_by_role("spinbutton", name=f"{part}, Dates {which} date", exact=True).click()
            page.keyboard.type(digits)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Temperature trends").click()  # leaving the field commits the range


def shot(page: Page, path: Path) -> None:
    """A screenshot of the viewport for the docs, best effort: on a loaded machine SwiftShader may not give
    a frame in time, and what the test checks is the plotted data, not the picture."""
    try:
        page.screenshot(path=str(path), timeout=45_000)
    except PlaywrightTimeoutError as exc:
        warnings.warn(f"no screenshot {path.name}: {exc.message.splitlines()[0]}", stacklevel=2)


def local_day(day: date, offset_days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=offset_days), time(0), tzinfo=PARIS)


def test_trends_draw_the_readings_of_the_chosen_dates_in_site_time_with_labelled_limits(
    server: tuple[StreamlitServer, Environment], page: Page, screenshots: Path
) -> None:
    app, env = server
    sign_in(page, app.url, "viewer")
    heading(page, "Overview")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Temperature trends").click()
    heading(page, "Temperature trends")
    settled(page)
    no_traceback(page)
    today = datetime.now(PARIS).date()
    # the default: the last seven days in the site's zone, every reading drawn at its Paris wall-clock time
    week = stored(env, local_day(today, -6), local_day(today, 1))
    first = drawn(page)
    traces = {trace["name"]: trace for trace in first["data"]}
    assert set(traces) == set(NAMES.values())
    for sensor_id, name in NAMES.items():
        assert points(traces[name]) == week[sensor_id], name
    assert len(week["r01-inlet"]) > 6 * 48  # days of curves, not minutes
    assert all(x.endswith(("+01:00", "+02:00")) for x, _y in points(traces["R01 inlet"]))
    notes = set(first["notes"])
    assert {"Inlet temperature high warning 27.0 °C", "Inlet temperature high critical 32.0 °C"} <= notes
    expect(page.locator(".js-plotly-plot").first.locator(".annotation-text").filter(
        has_text="Inlet temperature high warning 27.0 °C")).to_have_count(1)
    shot(page, screenshots / "temperature-trends.png")

    # a free date range: three days that end four days ago; the chart is re-read for exactly those days
    start_day, end_day = today - timedelta(days=6), today - timedelta(days=4)
    set_dates(page, start_day, end_day)
    settled(page)
    no_traceback(page)
    chosen = stored(env, local_day(start_day), local_day(end_day, 1))
    expect(page.get_by_text(f"from {local_day(start_day):%Y-%m-%d} 00:00 to {local_day(end_day, 1):%Y-%m-%d} 00:00")
           ).to_be_visible()
    picked = {trace["name"]: trace for trace in drawn(page)["data"]}
    for sensor_id, name in NAMES.items():
        assert points(picked[name]) == chosen[sensor_id], name
        assert len(chosen[sensor_id]) == 3 * 48  # half-hourly history
    assert drawn(page)["range"][0].startswith(f"{start_day:%Y-%m-%d}")

    # the range selector: one day back from the window's end shows that day's readings only
    page.locator(".rangeselector .button").filter(has_text="1d").first.click()
    page.wait_for_timeout(500)
    view = drawn(page)
    low, high = view["range"]
    assert low.startswith(f"{end_day:%Y-%m-%d}") and high.startswith(f"{end_day + timedelta(days=1):%Y-%m-%d}")
    last_day = stored(env, local_day(end_day), local_day(end_day, 1))
    shown = {trace["name"]: trace for trace in view["data"]}
    for sensor_id, name in NAMES.items():
        assert points(shown[name], low, high) == last_day[sensor_id], name
    shot(page, screenshots / "temperature-trends-day.png")

    # the other pages, for the docs' screenshots: they open cleanly on the same site
    for title, name in (("Temperatures now", "temperature-current"), ("Temperature alerts", "temperature-alerts")):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
        heading(page, title)
        settled(page)
        no_traceback(page)
        shot(page, screenshots / f"{name}.png")
