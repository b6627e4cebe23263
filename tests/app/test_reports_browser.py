"""Finance downloads a closed month's statement PDF from the Reports page in real Chromium, against a real
``streamlit run``; the file is byte for byte what ``nxforge billing --format pdf`` writes for that client."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from nxforge.environment import Environment
from tests.app.conftest import write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR, seed_consumption
from tests.app.streamlit_server import StreamlitServer
from tests.app.test_browser import TIMEOUT_MS, heading, no_traceback, settled, sign_in

pytestmark = pytest.mark.browser

MONTH = "2026-03"  # the month consumption_site seeds


def nxforge(site_env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[bytes]:
    """Run the ``nxforge`` command with the site's environment."""
    script = Path(sys.executable).with_name("nxforge")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "nxforge.cli"]
    return subprocess.run([*command, *argv], env={**os.environ, **site_env}, capture_output=True, timeout=180,
                          check=True)


@pytest.fixture(scope="module")
def site_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """12 endpoints (7 clients) with March readings, March closed from the command line."""
    base = tmp_path_factory.mktemp("reports-browser")
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
    seed_consumption(env, endpoints=12)
    closed = nxforge(variables, "billing", "close", "--month", MONTH, "--confirm-estimates", "--who", "finance")
    assert b"ST-202603-CLIENT-1" in closed.stdout
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


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label`` (typing filters long lists)."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.locator("input").click()
    box.locator("input").fill(option)
    page.get_by_role("option", name=option).first.click()


def test_finance_downloads_the_statement_pdf_of_a_closed_month(server: StreamlitServer, page: Page,
                                                                site_env: dict[str, str], tmp_path: Path) -> None:
    sign_in(page, server.url, "finance")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Billing reports").click()
    heading(page, "Billing reports")
    choose(page, "Month", MONTH)
    expect(page.get_by_test_id("stMetric").filter(has_text="closed v1")).to_be_visible()
    choose(page, "Client", "client-1")
    button = page.get_by_role("button", name="PDF (client-1)")
    expect(button).to_be_visible()
    settled(page)
    no_traceback(page)
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert download.suggested_filename == "ST-202603-CLIENT-1.pdf"
    downloaded = Path(download.path()).read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(downloaded)).pages)
    assert "Energy statement ST-202603-CLIENT-1" in text and "closed" in text and "DRAFT" not in text
    expected = tmp_path / "cli.pdf"
    nxforge(site_env, "billing", "--month", MONTH, "--client", "client-1", "--format", "pdf", "-o", str(expected))
    assert downloaded == expected.read_bytes()
