"""The app in real Chromium against a real ``streamlit run``: login, every page, role limits by URL.

Each page is saved as a screenshot in a temporary folder; ``scripts/screenshots.sh`` saves them in
``docs/screenshots/`` instead (used by the README and docs/app.md).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from nxforge.collector.runner import Collector
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from tests.app.conftest import PASSWORDS, write_core_config, write_users
from tests.app.streamlit_server import StreamlitServer
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
FIRST_PAGE_MS = 60_000
"""A fresh server's first page imports the whole app (polars, plotly, SQLAlchemy): slow on a loaded machine."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    """A site with hello-module enabled and run once, served by ``streamlit run``."""
    base = tmp_path_factory.mktemp("browser-site")
    for folder in ("config", "data", "modules"):
        (base / folder).mkdir()
    shutil.copytree(FIXTURES / "modules" / "hello_module", base / "modules" / "hello_module")
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"),
        "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(base / "modules"),
        "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "HELLO_TOKEN": "browser-token",
    }
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    write_users(env)
    platform = Platform(env)
    try:
        enable_module(platform, "hello-module", "test")
        Collector(platform, module="hello-module", job="greet").run_due(trigger="manual")
        platform.events.emit("hello-module", "greeting.failed", "nobody answered", "error")
    finally:
        platform.close()
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


def sign_in(page: Page, url: str, username: str) -> None:
    """Open ``url`` (the login form answers every page URL) and sign in."""
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username, timeout=FIRST_PAGE_MS)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", name=text, exact=True).first).to_be_visible()


def settled(page: Page, quiet_ms: int = 1200, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the page stops changing: no script running, no stale element left and the element count
    steady for ``quiet_ms`` (a click while the app still runs can be swallowed by that run)."""
    probe = """() => [document.querySelectorAll('[data-testid="stElementContainer"]').length,
                     document.querySelectorAll('[data-stale="true"]').length
                     + document.querySelectorAll('[data-testid^="stStatusWidgetRunning"]').length]"""
    waited, steady, last = 0, 0, None
    while waited < timeout_ms:
        count, stale = page.evaluate(probe)
        steady = steady + 250 if (count, stale) == last and stale == 0 else 0
        if steady >= quiet_ms:
            break
        last = (count, stale)
        page.wait_for_timeout(250)
        waited += 250
    page.wait_for_timeout(300)  # tables and charts draw on a canvas after their data arrives


def shoot(page: Page, folder: Path, name: str) -> None:
    """Save the settled page as ``<folder>/<name>.png``."""
    settled(page)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 0


def no_traceback(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.inner_text("body")


def test_login_page(server: StreamlitServer, page: Page, screenshots: Path) -> None:
    page.goto(server.url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shoot(page, screenshots, "login")
    page.get_by_label("Username", exact=True).fill("admin")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()


ADMIN_PAGES = [
    ("", "Overview", "overview"),
    ("executions", "Executions", "executions"),
    ("events", "Events", "events"),
    ("modules", "Modules", "modules"),
    ("users", "Users", "users"),
]


def test_admin_browses_every_core_page(server: StreamlitServer, page: Page, screenshots: Path) -> None:
    sign_in(page, server.url, "admin")
    heading(page, "Overview")
    nav = page.get_by_test_id("stSidebarNav")
    for _url_path, title, name in ADMIN_PAGES:
        nav.get_by_role("link", name=title).click()
        heading(page, title)
        no_traceback(page)
        shoot(page, screenshots, name)
    nav.get_by_role("link", name="Greetings").click()
    expect(page.get_by_text("Hello world (admin)")).to_be_visible()


def test_viewer_cannot_reach_an_admin_page_by_url(server: StreamlitServer, page: Page) -> None:
    sign_in(page, f"{server.url}/users", "viewer")
    heading(page, "Overview")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_have_count(0)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Greetings")).to_be_visible()
    for title in ("Users", "Modules", "Executions", "Events"):
        expect(nav.get_by_role("link", name=title, exact=True)).to_have_count(0)


def test_bookmark_survives_sign_in(server: StreamlitServer, page: Page) -> None:
    sign_in(page, f"{server.url}/events", "ops")
    heading(page, "Events")
    expect(page.locator("td", has_text="greeting.failed").first).to_be_attached()  # grid cells draw on a canvas


def test_disable_from_the_modules_page_removes_the_module_pages(server: StreamlitServer, page: Page) -> None:
    sign_in(page, f"{server.url}/modules", "admin")
    heading(page, "Modules")
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Hello Module disabled")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Greetings")).to_have_count(0)
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_text("Hello Module enabled")).to_be_visible()
    expect(nav.get_by_role("link", name="Greetings")).to_be_visible()
