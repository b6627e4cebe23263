"""A populated NxForge site for the app tests: users of every role, an enabled module, real runs and events."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
import yaml
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy import insert
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from nxforge.app.session import SESSION_USER
from nxforge.auth.users import USERS_FILE, UserStore
from nxforge.collector.runner import Collector
from nxforge.db.schema import executions
from nxforge.db.types import utcnow
from nxforge.environment import Environment
from nxforge.platform import Platform
from nxforge.simulator import Simulator
from tests.app.endpoints_site import start_simulator
from tests.app.streamlit_server import CHROMIUM_ARGS, chromium_path
from tests.conftest import copy_fixture_module

ROOT = Path(__file__).resolve().parents[2]
APP_LAUNCHER = ("from pathlib import Path\nfrom nxforge.app.shell import main\n"
                f"main(Path({str(ROOT / 'core_pages')!r}))\n")
"""``streamlit_app.py``'s one call, with the repository's ``core_pages/`` named outright."""
APP_FIXTURES = Path(__file__).parent / "fixtures"
PASSWORDS = {role: f"{role}-test-pass" for role in ("viewer", "finance", "ops", "admin")}
FIXTURE_PACKAGES = ("hello_module", "needs_hello", "raising_module", "hello")


def write_core_config(env: Environment, enabled: list[str]) -> None:
    """nxforge.yaml enabling ``enabled``, with hello-module's required token as a reference."""
    env.core_config_path.write_text(
        "# test site\n"
        + yaml.safe_dump(
            {
                "site_name": "Test site",
                "timezone": "Europe/Paris",
                "modules": {"enabled": enabled, "settings": {"hello-module": {"token": "${HELLO_TOKEN}"}}},
            }
        )
    )


def write_users(env: Environment) -> UserStore:
    """One user per role, named after the role (cheap bcrypt rounds: these are tests)."""
    store = UserStore(env.config_dir / USERS_FILE, rounds=4)
    for role, password in PASSWORDS.items():
        store.add(role, password, role, name=f"Test {role.title()}")
    return store


def copy_app_fixture_module(env: Environment, name: str) -> Path:
    """Copy ``tests/app/fixtures/modules/<name>`` into the site's modules folder."""
    target = env.modules_dir / name
    shutil.copytree(APP_FIXTURES / "modules" / name, target)
    return target


def app_test(default_timeout: float) -> AppTest:
    """The app as a running ``streamlit run streamlit_app.py`` serves it, in AppTest.

    The entry point's call runs from AppTest's temporary folder, with the repository's
    ``core_pages/`` named outright.
    """
    return AppTest.from_string(APP_LAUNCHER, default_timeout=default_timeout)


@dataclass
class Site:
    """The environment under test and a way to open the app in it."""

    env: Environment

    def platform(self) -> Platform:
        """A fresh platform on the site (the test closes it)."""
        return Platform(self.env)

    def app(self, username: str | None = "admin") -> AppTest:
        """The app, already logged in as ``username`` (None: logged out), not yet run."""
        at = app_test(default_timeout=30)
        if username:
            at.session_state[SESSION_USER] = username
        return at


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Run the app at ``/url_path``, as a browser asking for that URL would.

    ``AppTest.switch_page`` only accepts page files and our pages are callables, so the request
    is made the way Streamlit routes: by the hash of the URL path.
    """
    at._page_hash = calc_hash(url_path)
    return at.run()


@pytest.fixture
def site(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """Hello-module enabled and run once, a failed run, a few events, four users."""
    monkeypatch.setenv("HELLO_TOKEN", "token-for-tests")
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    copy_fixture_module(nx_env, "hello_module")
    copy_fixture_module(nx_env, "needs_hello")
    write_core_config(nx_env, [])
    write_users(nx_env)
    platform = Platform(nx_env)
    try:
        from nxforge.module_admin.lifecycle import enable_module

        enable_module(platform, "hello-module", "test")
        Collector(platform, module="hello-module", job="greet").run_due(trigger="manual")
        started = utcnow() - timedelta(hours=1)
        with platform.engine.begin() as conn:
            conn.execute(
                insert(executions).values(
                    module="hello-module", job="slow", trigger="schedule", status="timeout", attempt=1,
                    started_at=started, finished_at=started + timedelta(seconds=1), summary=None,
                    error="TimeoutError: stopped after 1s", log="INFO slow: step 1\nWARNING slow: stop", host="t",
                )
            )  # fmt: skip
        platform.events.emit("hello-module", "greeting.sent", "said hello to world")
        platform.events.emit("hello-module", "greeting.failed", "nobody answered", "error", {"attempts": 3})
    finally:
        platform.close()
    yield Site(nx_env)
    st.cache_data.clear()
    st.cache_resource.clear()
    for package in FIXTURE_PACKAGES:
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            sys.modules.pop(name, None)
    while str(nx_env.modules_dir) in sys.path:
        sys.path.remove(str(nx_env.modules_dir))


def texts(elements: object) -> str:
    """Every element's value joined, for 'the page says ...' assertions."""
    return "\n".join(str(getattr(element, "value", "")) for element in elements)  # type: ignore[attr-defined]


SCREENSHOTS_VARIABLE = "NXFORGE_SCREENSHOTS_DIR"
"""Where the browser tests save their screenshots when set (``scripts/screenshots.sh`` names docs/screenshots)."""


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the browser tests save page screenshots in: a temporary one unless NXFORGE_SCREENSHOTS_DIR says."""
    asked = os.environ.get(SCREENSHOTS_VARIABLE)
    folder = Path(asked).resolve() if asked else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


EXPECT_TIMEOUT_MS = 20_000
"""How long an ``expect`` waits: a fresh server's first page takes several seconds on a busy machine."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One real Chromium per test module, with the app suite's flags (see streamlit_server.py)."""
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """The endpoint pages' meter simulator (``endpoints_site.start_simulator``), one per test module."""
    simulator = start_simulator()
    yield simulator
    simulator.stop()
