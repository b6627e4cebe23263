"""Text is text (#14), in real Chromium: hostile names from config, devices, events and a module ZIP stay text.

One site whose every free-text field holds Markdown and HTML that would, if rendered, put a link,
an image or styling on the page: the site name, users' names, an endpoint's name, client and
location, a device's error message (a reading, an event and an execution), sensor names and
locations, and a module's manifest (display name, description, author, page title, setting
labels). An admin and a viewer open every page their navigation offers (core and modules), and on
each page the test asks the browser what it received: no element with a URL pointing at
``127.0.0.1:9`` (``<a href>``, ``<img src>``, Plotly's SVG links, in every frame), no element
whose whole text is what a payload would render to (the link's text, ``**...**`` as bold,
``:red[...]``), no traceback or failed page, no request to ``127.0.0.1:9``; and the literal
hostile text shows somewhere as text, so the names really were on the pages. Every page is
visited before the test fails, and the failure lists each page with what it rendered.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page
from sqlalchemy import insert

from nxforge.app.navigation import NavEntry, plan_navigation
from nxforge.auth.users import USERS_FILE, UserStore
from nxforge.collector.runner import Collector
from nxforge.db.schema import executions
from nxforge.db.types import utcnow
from nxforge.environment import Environment
from nxforge.formatting import WORD_JOINER
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.loading import mount_modules
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from tests.app.conftest import PASSWORDS, write_core_config
from tests.app.streamlit_server import StreamlitServer
from tests.app.temperature_site import STEP, Clock
from tests.app.test_browser import FIRST_PAGE_MS, TIMEOUT_MS
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
TRAP = "127.0.0.1:9/"
"""Where every hostile link and image points (the discard port: nothing is served there)."""
PAYLOADS = {
    "markdown link": f"[Session expired - sign in again](http://{TRAP}login)",
    "markdown image": f"![x](http://{TRAP}pixel.png)",
    "html image": f"<img src=http://{TRAP}i.png>",
    "html link": f"<a href=http://{TRAP}>hostile-click</a>",
    "colour directive": ":red[hostile-alarm]",
    "bold": "**hostile-bold**",
}
RENDERED_TEXTS = ["Session expired - sign in again", "hostile-click", "hostile-alarm", "hostile-bold"]
"""What an element's whole text is when a payload was rendered as markup instead of shown."""
HOSTILE_TAIL = " ".join(PAYLOADS.values())


def hostile(tag: str) -> str:
    """A field's hostile value: a short tag saying which field, then every payload."""
    return f"{tag} {HOSTILE_TAIL}"


FIELDS = {
    tag: hostile(tag)
    for tag in ("Site", "User", "Endpoint", "Client", "Location", "Device error", "Event", "Run error", "Sensor",
                "Room", "Module", "About", "Page", "Setting")
}  # fmt: skip
MODULES = ("consumption_monitor", "temperature_monitor")


def _hostile_module(modules_dir: Path) -> None:
    """hello_module as a ZIP from a stranger would bring it: every text of its manifest hostile."""
    target = modules_dir / "hello_module"
    shutil.copytree(FIXTURES / "modules" / "hello_module", target)
    manifest = yaml.safe_load((target / "manifest.yaml").read_text())
    manifest.update(display_name=FIELDS["Module"], description=FIELDS["About"], author=FIELDS["About"])
    manifest["pages"][0]["title"] = FIELDS["Page"]
    manifest["settings"]["name"].update(label=FIELDS["Setting"], description=FIELDS["Setting"])
    (target / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")


def _users(env: Environment) -> None:
    """An admin and a viewer whose display names are hostile (the sidebar shows them)."""
    store = UserStore(env.config_dir / USERS_FILE, rounds=4)
    for role in ("viewer", "admin"):
        store.add(role, PASSWORDS[role], role, name=FIELDS["User"])


def _endpoints(env: Environment) -> None:
    """Two endpoints of a hostile client, one with a hostile name and location."""
    folder = env.config_dir / "consumption-monitor"
    folder.mkdir(parents=True)
    document = {
        "clients": [{"name": FIELDS["Client"], "rate_per_kwh": 0.2}],
        "endpoints": [
            {"id": "hostile-a", "name": FIELDS["Endpoint"], "client": FIELDS["Client"], "location": FIELDS["Location"],
             "feed": "A", "circuit_max_kw": 7.4, "scrape": {"preset": "plain", "url": "http://127.0.0.1:1/a"}},
            {"id": "hostile-b", "name": "Rack 02 feed B", "client": FIELDS["Client"], "location": FIELDS["Location"],
             "feed": "B", "scrape": {"preset": "plain", "url": "http://127.0.0.1:1/b"}},
        ],
    }  # fmt: skip
    (folder / "site.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _seed_consumption(platform: Platform) -> None:
    """Two days of readings (the newest of hostile-b failed with a device's hostile words), an event, a run."""
    from nxforge_modules.consumption_monitor.collect import sync_now
    from nxforge_modules.consumption_monitor.readings import RawReading
    from nxforge_modules.consumption_monitor.store import store_reading

    enable_module(platform, "consumption-monitor", "test")
    sync_now(platform.context("consumption-monitor"))
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    with platform.engine.begin() as conn:
        for number, endpoint_id in enumerate(("hostile-a", "hostile-b")):
            for hour in range(48, 0, -2):
                at = now - timedelta(hours=hour)
                kwh = 1000.0 * (number + 1) + (48 - hour) * 2.0
                store_reading(conn, RawReading(endpoint_id, at, True, raw_kwh=kwh, power_w=2000.0 + number * 500))
        store_reading(conn, RawReading("hostile-b", now - timedelta(minutes=30), False, error_class="garbled",
                                       error_message=FIELDS["Device error"]))  # fmt: skip
        started = now - timedelta(hours=1)
        conn.execute(insert(executions).values(
            module="consumption-monitor", job="collect", trigger="schedule", status="failed", attempt=1,
            started_at=started, finished_at=started + timedelta(seconds=2), summary=None,
            error=FIELDS["Run error"], log="ERROR collect: " + FIELDS["Run error"], host="t",
        ))  # fmt: skip
    platform.events.emit("consumption-monitor", "endpoint.failed", FIELDS["Event"], "error",
                         {"endpoint": "hostile-b", "message": FIELDS["Device error"]})  # fmt: skip


def _sensors_yaml(sim: Simulator) -> str:
    """One BMC whose sensor name, location and rack are hostile; it overheats so an alert names it."""
    device = {
        "id": "bmc-h", "location": FIELDS["Room"], "rack": "R09",
        "scrape": {"preset": "bmc", "url": sim.url_for("bmc-h")},
        "sensors": [{"id": "h-inlet", "name": FIELDS["Sensor"], "kind": "inlet", "value": "inlet_c",
                     "location": FIELDS["Room"]}],
    }  # fmt: skip
    groups = {"inlet": {"high": {"warning": 27, "critical": 32}, "hysteresis": 1.0, "min_duration": "1m"}}
    return yaml.safe_dump({"groups": groups, "devices": [device]})


def _seed_temperatures(env: Environment) -> None:
    """Four collect runs against the simulator, the last three over the limit: readings and an alert."""
    clock = Clock(utcnow() - timedelta(minutes=10))
    with Simulator([DeviceSpec("bmc-h", "bmc")], clock=SimClock(start=clock.now, frozen=True)) as sim:
        folder = env.config_dir / "temperature-monitor"
        folder.mkdir(parents=True)
        (folder / "room.yaml").write_text(_sensors_yaml(sim), encoding="utf-8")
        platform = Platform(env, clock=clock)
        try:
            enable_module(platform, "temperature-monitor", "test")
            for index in range(4):
                if index == 1:
                    sim.device("bmc-h").set_fault("overheat", celsius=45)
                Collector(platform, module="temperature-monitor", job="collect").run_due(trigger="manual")
                clock.now += STEP
                sim.clock.advance(STEP)
        finally:
            platform.close()


@dataclass
class HostileSite:
    """The running server and the pages each role's navigation offers."""

    server: StreamlitServer
    pages: dict[str, list[NavEntry]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileSite]:
    base = tmp_path_factory.mktemp("hostile-site")
    for folder in ("config", "data", "modules"):
        (base / folder).mkdir()
    for module in MODULES:
        shutil.copytree(ROOT / "modules" / module, base / "modules" / module,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    _hostile_module(base / "modules")
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"),
        "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(base / "modules"),
        "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "NXFORGE_LOG_LEVEL": "WARNING",
        "HELLO_TOKEN": "hostile-token",
    }
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    config = yaml.safe_load(env.core_config_path.read_text())
    config["site_name"] = FIELDS["Site"]
    env.core_config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    (env.config_dir / "secrets.yaml").write_text("BMC_PASSWORD: secret\n", encoding="utf-8")  # the bmc preset's login
    _users(env)
    _endpoints(env)
    mount_modules(env.modules_dir)
    platform = Platform(env)
    try:
        enable_module(platform, "hello-module", "test")
        _seed_consumption(platform)
    finally:
        platform.close()
    _seed_temperatures(env)
    platform = Platform(env)
    try:
        pages = {role: plan_navigation(platform, role).entries for role in ("admin", "viewer")}
    finally:
        platform.close()
    server = StreamlitServer(variables, base / "streamlit.log").start()
    yield HostileSite(server, pages)
    server.stop()


PROBE = """([trap, rendered]) => {
  const urlAttributes = new Set(['href', 'xlink:href', 'src', 'srcset', 'action', 'formaction', 'poster', 'data',
                                 'background']);
  const found = [];
  const region = [];
  const visit = (root) => {
    for (const element of root.querySelectorAll('*')) {
      const tag = element.tagName.toLowerCase();
      for (const attribute of element.attributes) {
        const name = attribute.name.toLowerCase();
        const urlish = urlAttributes.has(name) || (name === 'style' && attribute.value.includes('url('));
        if (urlish && attribute.value.includes(trap)) found.push(`<${tag} ${name}="${attribute.value}">`);
      }
      const text = (element.textContent || '').trim();
      if (rendered.includes(text)) found.push(`<${tag}>${text}</${tag}> (markup rendered)`);
      const where = element.closest('[data-testid="stSidebar"]') ? 'sidebar' : 'main';
      while (found.length > region.length) region.push(where);
      if (element.shadowRoot) visit(element.shadowRoot);
    }
  };
  visit(document);
  const main = document.querySelector('[data-testid="stMain"]');
  if (document.querySelector('[data-testid="stException"]')) found.push('a traceback (stException)');
  if (main && main.textContent.includes('if it fails again, report it')) found.push('the page failed (error boundary)');
  while (found.length > region.length) region.push('main');
  return {found: found.map((item, index) => [region[index], item]),
          text: document.body ? document.body.textContent : ''};
}"""


@dataclass
class PageReport:
    """What one page showed: markup the browser built from hostile text, and which literals it shows as text."""

    url_path: str
    rendered: list[str]
    sidebar: list[str]
    """What the sidebar (the same on every page: site, user, navigation) rendered."""
    literals: list[str]
    requests: list[str] = field(default_factory=list)


def inspect(page: Page, url_path: str) -> PageReport:
    """Ask every frame of the page for hostile markup and for the literal hostile texts it shows."""
    rendered: list[str] = []
    sidebar: list[str] = []
    text = ""
    for frame in page.frames:
        try:
            result: dict[str, Any] = frame.evaluate(PROBE, [TRAP, RENDERED_TEXTS])
        except Exception as exc:  # a frame navigating away while asked: say so, do not hide it
            rendered.append(f"frame {frame.url} could not be inspected: {exc}")
            continue
        for region, item in result["found"]:
            (sidebar if region == "sidebar" else rendered).append(item)
        text += "\n" + result["text"]
    text = text.replace(WORD_JOINER, "")  # plain() puts one inside http:// so Markdown cannot link it
    literals = [tag for tag, value in FIELDS.items() if value in text]
    return PageReport(url_path, sorted(set(rendered)), sorted(set(sidebar)), literals)


DRAWN = """() => [document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]').length,
                 document.querySelectorAll('[data-stale="true"]').length,
                 document.querySelectorAll('[data-testid^="stStatusWidgetRunning"]').length,
                 [...document.querySelectorAll('.js-plotly-plot')].filter(e => !e.querySelector('.main-svg')).length]"""


def drawn(page: Page, quiet_ms: int = 500) -> None:
    """Wait until the script run is over and nothing on the page changed for ``quiet_ms`` (charts drawn too)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    last, steady = None, 0
    while time.monotonic() < deadline:
        count, stale, running, undrawn = page.evaluate(DRAWN)
        state = (count, stale, running, undrawn)
        steady = steady + 100 if state == last and count and not stale and not running and undrawn <= 0 else 0
        if steady >= quiet_ms:
            return
        last = state
        page.wait_for_timeout(100)


def open_entry(page: Page, base_url: str, entry: NavEntry) -> None:
    """Click the entry's link in the sidebar and wait for the page to draw."""
    link = page.get_by_test_id("stSidebarNav").locator(f'a[href="{base_url}/{entry.url_path}"]')
    if entry.spec.default and not link.count():
        link = page.get_by_test_id("stSidebarNav").locator(f'a[href="{base_url}/"]')
    link.first.click(timeout=2 * TIMEOUT_MS)  # a loaded machine may still be drawing the previous page
    page.wait_for_url(f"{base_url}/{entry.url_path}*" if not entry.spec.default else f"{base_url}/**")
    drawn(page)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_hostile_names_reach_the_browser_as_text_on_every_page(hostile_site: HostileSite, page: Page,
                                                                role: str) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if TRAP in request.url else None)
    base_url = hostile_site.server.url
    page.goto(base_url)
    page.get_by_label("Username", exact=True).fill(role, timeout=FIRST_PAGE_MS)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[role])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebarNav").wait_for(timeout=FIRST_PAGE_MS)
    entries = hostile_site.pages[role]
    assert len(entries) >= (14 if role == "admin" else 8), [e.url_path for e in entries]
    reports: list[PageReport] = []
    for entry in entries:
        open_entry(page, base_url, entry)
        report = inspect(page, entry.url_path)
        report.requests += requests  # made while this page was open (by it, or by the sidebar)
        requests.clear()
        reports.append(report)
    failing = {r.url_path: r.rendered for r in reports if r.rendered}
    asked = {r.url_path: sorted(set(r.requests)) for r in reports if r.requests}
    if asked:
        failing["(requests to the trap, by the page open at the time)"] = [f"{p}: {u}" for p, u in asked.items()]
    sidebar = sorted({item for r in reports for item in r.sidebar})
    if sidebar:
        failing["(sidebar, every page)"] = sidebar
    blank = [r.url_path for r in reports if not r.literals]
    seen = {tag for r in reports for tag in r.literals}
    print(f"\n{role}: {len(PAYLOADS)} payloads x {len(reports)} pages; failing: {sorted(failing)}")
    for report in reports:
        print(f"  /{report.url_path}: shown as text: {', '.join(report.literals) or '-'}; rendered: {report.rendered};"
              f" requests: {report.requests}")
    print(f"  sidebar rendered: {sidebar}")
    assert not failing, f"hostile markup rendered for {role}: {failing}"
    assert not blank, f"pages showing no hostile text at all (did they draw?): {blank}"
    # A viewer meets endpoint names only inside tables and chart canvases (not readable here); the Endpoints
    # page shows them as text to an admin. Locations are in canvases for both (the editor's form, where an
    # admin may see one, is not always drawn when the page is read), so they are checked for markup only.
    expected = {"Site", "User", "Sensor"} | ({"Endpoint"} if role == "admin" else set())
    assert expected <= seen, f"never shown as text: {sorted(expected - seen)}"
