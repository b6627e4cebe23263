"""Secrets (#14), in real Chromium: no device secret reaches a browser, for any role, nor a log at DEBUG.

A site whose endpoints log in with ``${REF}`` secrets resolved from the environment and from
``config/secrets.yaml``: a form login and HTTP Basic (APC), an OAuth token login (Eaton), an SNMP
community, a key in a navigate step's URL, and a Sentry whose password is wrong (so an auth_failed
reading and event exist). The collector reads them twice at DEBUG. Then one user per role (viewer,
finance, ops, admin, client) opens every page its navigation offers; ops and admin also open the
endpoint YAML editor and run Test on the form-login, URL-key and wrong-password endpoints; every
visible download button is clicked. Every websocket frame (both ways), every HTTP response body but
Streamlit's static assets, every download, the collector's DEBUG lines and the app server's log at
DEBUG are searched for each secret, as typed and URL-, base64-, Basic-, HTML- and JSON-encoded. A
known endpoint id must be in the frames, so the test is not looking at an empty stream.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import yaml
from playwright.sync_api import Browser, Page, Response, WebSocket

from nxforge.app.navigation import NavEntry, plan_navigation
from nxforge.auth.users import USERS_FILE, UserStore
from nxforge.collector.runner import Collector
from nxforge.db.types import utcnow
from nxforge.environment import Environment
from nxforge.log_redaction import install_log_redaction, uninstall_log_redaction
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.loading import mount_modules
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_agent import SnmpCredentials
from tests.app.conftest import PASSWORDS, write_core_config
from tests.app.consumption_site import MODULES_DIR
from tests.app.temperature_site import Clock
from tests.app.test_browser import FIRST_PAGE_MS, TIMEOUT_MS
from tests.app.test_hostile_text_browser import drawn, open_entry

pytestmark = pytest.mark.browser

IN_SECRETS_FILE = {"APC_PASSWORD": "Ap7+pdu/Pass&61", "EATON_PASSWORD": "Et9-token/pass+28",
                   "SNMP_COMMUNITY": "Cm4-community-snmp-63"}  # fmt: skip
IN_ENVIRONMENT = {"SENTRY_PASSWORD": "Sn5-wrong/pass+77", "URL_KEY": "Uk2url94key"}
SECRETS = {**IN_SECRETS_FILE, **IN_ENVIRONMENT}
ROLES = ("viewer", "finance", "ops", "admin", "client")
PASSWORDS_BY_ROLE = {**PASSWORDS, "client": "client-test-pass"}
KNOWN = "sec-form"
"""An endpoint's id: not a secret, on the pages of every role (the client's too: acme's endpoint)."""
TESTED = ("sec-form", "sec-url", "sec-wrong")
"""The endpoints ops and admin run Test on."""


def encodings(value: str) -> dict[str, bytes]:
    """The forms a secret could take on its way to a browser or a log."""
    forms = {
        "as typed": value,
        "URL-encoded": quote(value, safe=""),
        "form-encoded": quote_plus(value),
        "base64": base64.b64encode(value.encode()).decode(),
        "base64url": base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
        "Basic header": base64.b64encode(f"admin:{value}".encode()).decode(),
        "HTML": html.escape(value),
        "JSON": json.dumps(value)[1:-1],
    }
    return {name: form.encode() for name, form in forms.items()}


def leaks_in(where: str, content: bytes) -> list[str]:
    """Every secret (in any of its forms) found in ``content``, named with where it was."""
    return [f"{name} ({form}) in {where}" for name, value in SECRETS.items()
            for form, encoded in encodings(value).items() if encoded in content]  # fmt: skip


def _endpoints(sim: Simulator) -> dict[str, Any]:
    """Six endpoints, each logging in with a reference of its preset (or a step URL carrying one)."""
    def endpoint(endpoint_id: str, name: str, scrape: dict[str, Any], client: str = "acme") -> dict[str, Any]:
        return {"id": endpoint_id, "name": name, "client": client, "poll_interval": "15m",
                "scrape": {"timeout_s": 10, "retries": 0, **scrape}}  # fmt: skip

    return {
        "clients": [{"name": "acme", "rate_per_kwh": 0.2}, {"name": "globex", "rate_per_kwh": 0.3}],
        "endpoints": [
            endpoint("sec-form", "Secret rack form", {"preset": "apc-nmc2", "url": sim.url_for("sec-form")}),
            endpoint("sec-basic", "Secret rack basic", {"preset": "apc-nmc1", "url": sim.url_for("sec-basic")}),
            endpoint("sec-token", "Secret rack token", {"preset": "eaton-g4", "url": sim.url_for("sec-token")},
                     client="globex"),
            endpoint("sec-snmp", "Secret rack snmp", {"preset": "apc-rpdu2-snmp", "url": sim.snmp_url("sec-snmp")}),
            endpoint("sec-url", "Secret rack url key", {
                "preset": "plain", "url": sim.url_for("sec-url"),
                "steps": [{"action": "navigate", "url": "?key=${URL_KEY}"}]}),
            endpoint("sec-wrong", "Secret rack wrong password", {"preset": "sentry", "url": sim.url_for("sec-wrong")}),
        ],
    }  # fmt: skip


class _Lines(logging.Handler):
    """Every record, formatted with its arguments, as the collector's log would hold it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _collect_at_debug(env: Environment, sim: Simulator) -> list[str]:
    """Two collector runs an hour apart, every logger at DEBUG, redaction installed as ``nxforge``'s CLI does."""
    lines = _Lines()
    install_log_redaction(quiet_libraries=False)  # the CLI's set-up, with every library line let through
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", "nxforge", "httpx", "httpcore", "pysnmp")}
    root.addHandler(lines)
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    clock = Clock(utcnow() - timedelta(hours=2))
    platform = Platform(env, clock=clock)
    try:
        enable_module(platform, "consumption-monitor", "test")
        for _ in range(2):
            Collector(platform, module="consumption-monitor", job="collect").run_due(trigger="manual")
            clock.now += timedelta(hours=1)
            sim.clock.advance(timedelta(hours=1))
    finally:
        platform.close()
        root.removeHandler(lines)
        uninstall_log_redaction()
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
    return lines.lines


@dataclass
class SecretSite:
    """The running server, its log, what the collector logged, and each role's pages."""

    url: str
    log_path: Path
    collector_log: list[str]
    pages: dict[str, list[NavEntry]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def secret_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretSite]:
    from tests.app.streamlit_server import StreamlitServer

    base = tmp_path_factory.mktemp("secret-site")
    for folder in ("config", "data", "modules"):
        (base / folder).mkdir()
    shutil.copytree(MODULES_DIR / "consumption_monitor", base / "modules" / "consumption_monitor",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"),
        "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(base / "modules"),
        "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "NXFORGE_LOG_LEVEL": "DEBUG",
        **IN_ENVIRONMENT,
    }
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    (env.config_dir / "secrets.yaml").write_text(yaml.safe_dump(IN_SECRETS_FILE), encoding="utf-8")
    store = UserStore(env.config_dir / USERS_FILE, rounds=4)
    for role in ROLES:
        store.add(role, PASSWORDS_BY_ROLE[role], role, name=f"Test {role}", client="acme" if role == "client" else None)
    devices = [
        DeviceSpec("sec-form", "apc-nmc2", password=SECRETS["APC_PASSWORD"], initial_kwh=1000.0),
        DeviceSpec("sec-basic", "apc-nmc1", password=SECRETS["APC_PASSWORD"], initial_kwh=2000.0),
        DeviceSpec("sec-token", "eaton-g4", password=SECRETS["EATON_PASSWORD"], initial_kwh=3000.0),
        DeviceSpec("sec-snmp", "plain", initial_kwh=4000.0),
        DeviceSpec("sec-url", "plain", initial_kwh=5000.0),
        DeviceSpec("sec-wrong", "sentry", password="the-device-has-another-one"),
    ]
    monkeypatch = pytest.MonkeyPatch()
    with Simulator(devices, clock=SimClock(start=utcnow() - timedelta(hours=2), frozen=True)) as sim:
        sim.snmp_credentials = SnmpCredentials(community=SECRETS["SNMP_COMMUNITY"])  # before the agents start
        folder = env.config_dir / "consumption-monitor"
        folder.mkdir()
        (folder / "site.yaml").write_text(yaml.safe_dump(_endpoints(sim), sort_keys=False), encoding="utf-8")
        mount_modules(env.modules_dir)
        for name, value in IN_ENVIRONMENT.items():
            monkeypatch.setenv(name, value)
        try:
            collector_log = _collect_at_debug(env, sim)
        finally:
            monkeypatch.undo()
        platform = Platform(env)
        try:
            pages = {role: plan_navigation(platform, role).entries for role in ROLES}
        finally:
            platform.close()
        server = StreamlitServer(variables, base / "streamlit.log").start()
        try:
            yield SecretSite(server.url, base / "streamlit.log", collector_log, pages)
        finally:
            server.stop()


@dataclass
class Traffic:
    """What reached (and left) one browser: websocket frames, HTTP responses, downloads."""

    frames: list[bytes] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    downloads: dict[str, bytes] = field(default_factory=dict)

    def listen(self, page: Page) -> None:
        """Record every frame of every websocket and every response of ``page``."""

        def frame(payload: str | bytes) -> None:
            self.frames.append(payload if isinstance(payload, bytes) else payload.encode())

        def socket(ws: WebSocket) -> None:
            ws.on("framereceived", frame)
            ws.on("framesent", frame)

        page.on("websocket", socket)
        page.on("response", lambda response: self.responses.append(response))

    def read_bodies(self) -> None:
        """Fetch the bodies of the responses seen so far (Streamlit's static files are the same for everyone)."""
        for response in self.responses:
            if "/static/" in response.url or response.url in self.bodies:
                continue
            try:
                self.bodies[response.url] = response.body()
            except Exception as exc:  # a redirect or a body already gone has nothing to show
                self.bodies[response.url] = f"(no body: {type(exc).__name__})".encode()
        self.responses.clear()


def _download_all(page: Page, traffic: Traffic, where: str) -> None:
    """Click every visible download button and keep the files."""
    buttons = page.get_by_test_id("stDownloadButton").locator("button")
    for index in range(buttons.count()):
        button = buttons.nth(index)
        if not button.is_visible():
            continue
        label = button.inner_text()
        with page.expect_download(timeout=60_000) as download:
            button.click()
        traffic.downloads[f"{where}: {label} ({download.value.suggested_filename})"] = Path(
            download.value.path()).read_bytes()
        drawn(page)


def _test_endpoints(page: Page) -> int:
    """Open each tested endpoint's YAML editor and run Test; how many Test results were shown."""
    shown = 0
    for endpoint_id in TESTED:
        box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Endpoint", exact=True))
        box.locator("input").click()
        box.locator("input").fill(endpoint_id)
        page.get_by_role("option", name=re.compile(re.escape(endpoint_id))).first.click()
        drawn(page)
        page.get_by_test_id("stButtonGroup").get_by_text("YAML", exact=True).click()
        drawn(page)
        assert page.get_by_role("textbox", name="The endpoint's YAML").input_value().count(endpoint_id)
        page.get_by_role("button", name="Test").click()
        page.get_by_role("heading", name="Test result").wait_for(timeout=60_000)
        drawn(page)
        shown += 1
    return shown


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


def test_the_collector_logs_at_debug_carry_no_secret(secret_site: SecretSite) -> None:
    lines = "\n".join(secret_site.collector_log)
    assert "DEBUG" in lines and "sec-form" in lines, "the collector's DEBUG lines were captured"
    assert "auth_failed" in lines or "sec-wrong" in lines
    assert leaks_in("the collector's log", lines.encode()) == []


@pytest.mark.parametrize("role", ROLES)
def test_no_secret_reaches_the_browser_of_any_role(secret_site: SecretSite, page: Page, role: str) -> None:
    traffic = Traffic()
    traffic.listen(page)
    page.goto(secret_site.url)
    page.get_by_label("Username", exact=True).fill(role, timeout=FIRST_PAGE_MS)
    page.get_by_label("Password", exact=True).fill(PASSWORDS_BY_ROLE[role])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebarNav").wait_for(timeout=FIRST_PAGE_MS)
    entries = secret_site.pages[role]
    assert entries, f"{role} has no page"
    tests_run = 0
    for entry in entries:
        open_entry(page, secret_site.url, entry)
        if entry.url_path == "consumption-monitor-endpoints":
            tests_run += _test_endpoints(page)
        _download_all(page, traffic, entry.url_path)
        traffic.read_bodies()
    time.sleep(0.5)  # the last frames of the last rerun
    traffic.read_bodies()
    stream = b"\n".join(traffic.frames)
    assert traffic.frames and KNOWN.encode() in stream, "the websocket frames were seen (a known id is in them)"
    if role in ("ops", "admin"):
        assert tests_run == len(TESTED) and b"sec-wrong" in stream
        assert b"?key=${URL_KEY}" in stream, "the YAML editor's text (references, never values) was in the frames"
    leaks = leaks_in(f"{role}'s websocket frames", stream)
    for url, body in traffic.bodies.items():
        leaks += leaks_in(f"{role}'s response {url}", body)
    for name, content in traffic.downloads.items():
        leaks += leaks_in(f"{role}'s download {name}", content)
    print(f"\n{role}: {len(entries)} pages, {len(traffic.frames)} frames ({len(stream)} bytes), "
          f"{len(traffic.bodies)} responses, {len(traffic.downloads)} downloads, {tests_run} Test runs")
    assert leaks == []


def test_the_app_log_at_debug_carries_no_secret(secret_site: SecretSite) -> None:
    """Runs after the roles' visits (file order): every Test the app ran is in its log."""
    text = secret_site.log_path.read_bytes()
    assert b"DEBUG" in text, "the app logged at DEBUG"
    assert leaks_in("the app server's log", text) == []
