"""The top-level ``core_pages/`` folder in Chromium: the navigation serves the core pages, Streamlit never its files.

Streamlit serves the files of a ``pages/`` folder beside the entry point by their URLs until a
script calls ``st.navigation`` (decided per server process): the core pages therefore live in
``core_pages/``. Each test starts a fresh server from a copy of ``streamlit_app.py`` and
``core_pages/`` with one stray file added, so even a process's very first request is checked.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from nxforge.app.registry import CORE_PAGES
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from tests.app.conftest import PASSWORDS, write_core_config, write_users
from tests.app.streamlit_server import ROOT, StreamlitServer
from tests.app.test_browser import TIMEOUT_MS, heading, no_traceback, sign_in
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser

STRAY = 'import streamlit as st\n\nst.title("Stray file")\n'
"""A file in ``core_pages/`` that no navigation declares: opening its URL must never run it."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StreamlitServer]:
    """A fresh ``streamlit run`` of a copy of the app (``core_pages/`` holds the pages and ``stray.py``); hello on."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(ROOT / "streamlit_app.py", app / "streamlit_app.py")
    shutil.copytree(ROOT / "core_pages", app / "core_pages", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "core_pages" / "stray.py").write_text(STRAY)
    for folder in ("config", "data", "modules"):
        (tmp_path / folder).mkdir()
    shutil.copytree(FIXTURES / "modules" / "hello_module", tmp_path / "modules" / "hello_module")
    variables = {
        "NXFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "NXFORGE_DATA_DIR": str(tmp_path / "data"),
        "NXFORGE_MODULES_DIR": str(tmp_path / "modules"),
        "NXFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'nxforge.db'}",
        "NXFORGE_LOG_LEVEL": "WARNING",
        "HELLO_TOKEN": "browser-token",
    }
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    write_users(env)
    platform = Platform(env)
    try:
        enable_module(platform, "hello-module", "test")
    finally:
        platform.close()
    started = StreamlitServer(variables, tmp_path / "streamlit.log", app_file=app / "streamlit_app.py").start()
    yield started
    started.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


def not_the_stray_file(page: Page) -> None:
    expect(page.get_by_role("heading", name="Stray file")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav").get_by_text("stray")).to_have_count(0)


def test_a_fresh_server_serves_every_core_page_through_the_navigation(server: StreamlitServer, page: Page) -> None:
    # The process's first request names a core page: the app answers (sign-in, then the page), not the file.
    sign_in(page, f"{server.url}/users", "admin")
    heading(page, "Users")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link")).to_have_count(len(CORE_PAGES) + 1)  # and hello-module's Greetings
    for spec in CORE_PAGES:
        nav.get_by_role("link", name=spec.title, exact=True).click()
        heading(page, spec.title)
        no_traceback(page)
        not_the_stray_file(page)
    for spec in CORE_PAGES:  # and by URL, as a bookmark (the session cookie survives the page load)
        page.goto(f"{server.url}/{spec.name}")
        heading(page, spec.title)
        not_the_stray_file(page)


def test_a_file_in_pages_that_no_navigation_declares_is_not_served(server: StreamlitServer, page: Page) -> None:
    page.goto(server.url)  # the app has run once in this process: Streamlit has left its file-based mode
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto(f"{server.url}/stray")
    expect(page.get_by_text("Page not found")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    not_the_stray_file(page)
    page.get_by_label("Username", exact=True).fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORDS["admin"])
    page.get_by_role("button", name="Sign in").click()
    heading(page, "Overview")
    not_the_stray_file(page)


def test_a_stray_file_is_not_served_even_as_the_first_request(server: StreamlitServer, page: Page) -> None:
    page.goto(f"{server.url}/stray")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    not_the_stray_file(page)


def test_a_module_page_as_the_first_request_opens_that_page(server: StreamlitServer, page: Page) -> None:
    page.goto(f"{server.url}/hello-module-greetings")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.get_by_text("Page not found").count() == 0
    sign_in(page, f"{server.url}/hello-module-greetings", "admin")
    expect(page.get_by_text("Hello world (admin)")).to_be_visible()
