"""Regenerate docs/screenshots/*.png: every page of the demo site as Chromium draws it, as admin and as a client.

Run by hand (``bash scripts/screenshots.sh``), look at the pictures, then commit them; the test suite
never runs this. The site is the README's demo (``nxforge demo --no-app``: simulated meters, demo
history, the collector running) in a temporary folder, plus a client user bound to ``acme``; the app
is a ``streamlit run`` on a free 127.0.0.1 port. Pages come from the app's page registry, so a new
page gets its picture without touching this file: ``<module>-<page>.png`` (the module's name without
``-monitor``) or ``<page>.png`` for core pages, ``login.png``, and ``client-<page>.png`` for the
client's view. Nothing is written outside docs/screenshots/ and the temporary folder.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.app.streamlit_server: the browser suite's server and Chromium flags

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402

from nxforge.app.navigation import NavPlan, plan_navigation  # noqa: E402
from nxforge.auth.passwords import DEMO_ENV  # noqa: E402
from nxforge.auth.users import USERS_FILE  # noqa: E402
from nxforge.db.schema import executions  # noqa: E402
from nxforge.environment import Environment  # noqa: E402
from nxforge.platform import Platform  # noqa: E402
from tests.app.streamlit_server import CHROMIUM_ARGS, StreamlitServer, chromium_path, free_port  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
MAX_HEIGHT = 6000
"""A full page is at most this tall (px): the app scrolls inside its main block, so the viewport grows to it."""
TIMEOUT_MS = 120_000
"""Per wait: a fresh server's first page imports the whole app, and the machine is shared."""
CLIENT_USER, CLIENT_NAME, CLIENT = "acme-portal", "Acme Hosting", "acme"
CLIENT_PAGES = ("live", "reports", "statements", "racks")
"""The client's pictures: its racks and its statements, among the pages its role may open."""
EXTRA_VIEWS = {"consumption-monitor-live": (("Racks", "racks"),)}
"""Views inside a page worth their own picture: (button, suffix), e.g. Live's racks with the A/B check."""
TEST_ENDPOINT = "raritan-002"
"""A demo meter read by the browser engine: the Endpoints page's Test shows the meter's screenshot."""
DRAWN = """() => [
  document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]').length,
  document.querySelectorAll('[data-stale="true"]').length,
  document.querySelectorAll('[data-testid^="stStatusWidgetRunning"]').length,
  [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
     .filter(e => e.checkVisibility() && !e.querySelector('.main-svg')).length,
  [...document.querySelectorAll('[data-testid="stDataFrame"]')]
     .filter(e => e.checkVisibility() && !e.querySelector('canvas')).length,
  document.querySelectorAll('[data-testid="stSkeleton"]').length]"""
"""Elements, stale ones, a running script, undrawn charts, undrawn tables, placeholders still loading."""
PAGE_HEIGHT = """() => Math.max(document.documentElement.scrollHeight,
  ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
     .map(e => e.scrollHeight + e.getBoundingClientRect().top))"""
PROBLEMS = """() => [document.querySelectorAll('[data-testid="stException"]').length,
  document.body.innerText.includes('Traceback'),
  [...document.querySelectorAll('[data-testid="stAlertContentError"]')].map(e => e.innerText.slice(0, 600))]"""
BOUNDARY_MARK = "The full traceback is in the app's log"
"""How nxforge/app/boundary.py ends the st.error it shows for a page that raised."""


class ScreenshotError(RuntimeError):
    """A page could not be drawn, or drew an exception: the pictures would not show the app."""


@dataclass
class Site:
    """The temporary demo site: its environment variables, the demo process and the app server."""

    folder: Path
    variables: dict[str, str]
    demo: subprocess.Popen[bytes] | None = None
    server: StreamlitServer | None = None

    @property
    def env(self) -> Environment:
        """The site's folders, as the demo and the app see them."""
        return Environment.from_environ(self.variables)


def build_site(folder: Path) -> Site:
    """The repository's config (the demo users, the enabled modules) copied into ``folder``."""
    config = folder / "config"
    config.mkdir(parents=True)
    for name in ("nxforge.yaml", USERS_FILE):
        shutil.copy2(ROOT / "config" / name, config / name)
    variables = {
        "NXFORGE_CONFIG_DIR": str(config),
        "NXFORGE_DATA_DIR": str(folder / "data"),
        "NXFORGE_DATABASE_URL": f"sqlite:///{folder / 'data' / 'nxforge.db'}",  # the demo's default, in the folder
        "NXFORGE_MODULES_DIR": str(ROOT / "modules"),
        "NXFORGE_LOG_LEVEL": "WARNING",
        DEMO_ENV: "1",
    }
    return Site(folder, variables)


def add_client_user(site: Site) -> str:
    """``nxforge users add`` a client user bound to the demo's ``acme`` (audited, as docs/app.md says); its password."""
    password = secrets.token_urlsafe(16)
    command = [sys.executable, "-m", "nxforge.cli", "users", "add", CLIENT_USER, "--role", "client",
               "--client", CLIENT, "--name", CLIENT_NAME, "--password-stdin"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **site.variables}, input=f"{password}\n",
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    if done.returncode != 0:
        raise ScreenshotError(f"nxforge users add {CLIENT_USER} failed: {done.stderr.strip()}")
    return password


def start_demo(site: Site) -> None:
    """``nxforge demo --no-app`` on free ports: simulator, demo config and history, the collector looping."""
    command = [
        sys.executable,
        "-m",
        "nxforge.cli",
        "demo",
        "--no-app",
        "--sim-port",
        str(free_port()),
        "--sim-tls-port",
        str(free_port()),
    ]
    log = (site.folder / "demo.log").open("wb")
    site.demo = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **site.variables},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_first_runs(site: Site, modules: list[str], timeout_s: float = 300) -> None:
    """Until each enabled module's jobs have run once against the simulator (Live shows today's reads)."""
    database = site.folder / "data" / "nxforge.db"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert site.demo is not None
        if site.demo.poll() is not None:
            raise ScreenshotError(f"the demo exited with {site.demo.returncode}: see {site.folder / 'demo.log'}")
        if database.exists():
            engine = create_engine(site.variables["NXFORGE_DATABASE_URL"])
            try:
                query = select(executions.c.module, func.count()).where(executions.c.finished_at.is_not(None))
                with engine.connect() as conn:
                    done = {row[0] for row in conn.execute(query.group_by(executions.c.module))}
            except Exception:  # the demo is still creating the schema
                done = set()
            finally:
                engine.dispose()
            if set(modules) <= done:
                return
        time.sleep(2)
    raise ScreenshotError(f"the demo's collector did not finish a run of {modules} in {timeout_s:.0f}s")


def navigation(site: Site, role: str) -> NavPlan:
    """The pages ``role`` may open, from the app's own page registry (new pages are included)."""
    platform = Platform(site.env)
    try:
        return plan_navigation(platform, role)
    finally:
        platform.close()


def picture_name(module: str | None, page: str) -> str:
    """``consumption-live`` for module pages (keeps the docs' existing names), ``overview`` for core pages."""
    return f"{module.removesuffix('-monitor')}-{page}" if module else page


def drawn(page: Page, quiet_ms: int = 1500) -> None:
    """Wait until the run is over and nothing changed for ``quiet_ms``: charts and tables drawn, nothing loading."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    last: list[int] | None = None
    steady = 0
    while time.monotonic() < deadline:
        state = page.evaluate(DRAWN)
        count, stale, running, charts, tables, loading = state
        ready = count > 0 and not (stale or running or charts or tables or loading)
        steady = steady + 250 if ready and state == last else 0
        if steady >= quiet_ms:
            page.wait_for_timeout(500)  # the grid's canvas paints on the next animation frames
            return
        last = state
        page.wait_for_timeout(250)
    raise ScreenshotError(f"{page.url} did not finish drawing in {TIMEOUT_MS / 1000:.0f}s (last state {last})")


def check(page: Page, name: str) -> list[str]:
    """Fail on an exception shown on the page (raw, or caught by the error boundary); return other error boxes."""
    exceptions, traceback, errors = page.evaluate(PROBLEMS)
    caught = [str(text) for text in errors if BOUNDARY_MARK in str(text)]
    if exceptions or traceback or caught:
        shown = "\n".join(caught) or page.inner_text("body")[:2000]
        raise ScreenshotError(f"{name}: the page shows an exception ({page.url}):\n{shown}")
    return [f"{name}: error box: {' '.join(str(text).split())}" for text in errors]


def shoot(page: Page, out: Path, name: str) -> Path:
    """Save the whole page (grown to its content's height, then back) as ``<out>/<name>.png``."""
    page.mouse.move(0, 0)  # no hover toolbar over a table
    drawn(page)
    height = min(MAX_HEIGHT, max(VIEWPORT["height"], int(page.evaluate(PAGE_HEIGHT))))
    if height > VIEWPORT["height"]:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(800)  # charts and grids lay out again at the new size
        drawn(page, quiet_ms=1000)
    target = out / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    page.set_viewport_size(VIEWPORT)
    print(f"wrote {target.relative_to(ROOT)} ({height}px)", flush=True)
    return target


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    """Sign in on the login form, and wait for the signed-in navigation."""
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username, timeout=TIMEOUT_MS)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebarNav").wait_for(timeout=TIMEOUT_MS)


def open_page(page: Page, url: str, url_path: str, default: bool) -> None:
    """Click the page's sidebar link (the session stays signed in) and wait for its URL."""
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.locator(f'a[href="{url}/{url_path}"]')
    if not link.count() and default:
        link = nav.locator(f'a[href="{url}/"]')
    if not link.count():
        view_more = page.get_by_test_id("stSidebarNavViewButton")
        if view_more.count():
            view_more.first.click()
    link.first.click(timeout=TIMEOUT_MS)
    page.wait_for_url(f"{url}/**", timeout=TIMEOUT_MS)


def shoot_pages(
    page: Page, url: str, plan: NavPlan, out: Path, prefix: str = "", only: tuple[str, ...] = ()
) -> tuple[list[Path], list[str]]:
    """Every page of ``plan`` (or those named in ``only``), one picture each; returns files and notes."""
    files, notes = [], []
    for entry in plan.entries:
        if only and entry.spec.name not in only:
            continue
        name = prefix + (entry.spec.name if prefix else picture_name(entry.module, entry.spec.name))
        open_page(page, url, entry.url_path, entry.spec.default)
        page.get_by_role("heading").first.wait_for(timeout=TIMEOUT_MS)
        drawn(page)
        notes += check(page, name)
        files.append(shoot(page, out, name))
        for button, suffix in EXTRA_VIEWS.get(entry.url_path, ()):
            page.get_by_test_id("stButtonGroup").get_by_text(button, exact=True).first.click()
            drawn(page)
            notes += check(page, f"{name}-{suffix}")
            files.append(shoot(page, out, f"{name}-{suffix}"))
    return files, notes


def shoot_endpoint_test(page: Page, url: str, out: Path) -> Path | None:
    """The Endpoints page after Test on a browser-engine meter (its screenshot shown): consumption-endpoints-test."""
    page.goto(f"{url}/consumption-monitor-endpoints")
    page.get_by_role("heading", name="Endpoints", exact=True).wait_for(timeout=TIMEOUT_MS)
    drawn(page)
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Endpoint", exact=True))
    if not box.count():
        return None
    box.locator("input").first.click()
    box.locator("input").first.fill(TEST_ENDPOINT)
    page.get_by_role("option", name=TEST_ENDPOINT).first.click()
    drawn(page)
    page.get_by_role("button", name="Test").first.click()
    page.get_by_test_id("stImage").locator("img").first.wait_for(timeout=TIMEOUT_MS)
    drawn(page)
    check(page, "consumption-endpoints-test")
    page.get_by_role("heading", name="Test result").first.scroll_into_view_if_needed()
    return shoot(page, out, "consumption-endpoints-test")


def run(browser: Browser, site: Site, client_password: str, out: Path) -> tuple[list[Path], list[str]]:
    """The sign-in page, every admin page, the Endpoints test, and the client's view."""
    assert site.server is not None
    url = site.server.url
    files: list[Path] = []
    notes: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT_MS)
    files.append(shoot(page, out, "login"))
    sign_in(page, url, "admin", "admin-demo-pass")
    admin_plan = navigation(site, "admin")
    shot, seen = shoot_pages(page, url, admin_plan, out)
    files += shot
    notes += seen
    if "consumption-monitor-endpoints" in admin_plan.url_paths:
        tested = shoot_endpoint_test(page, url, out)
        files += [tested] if tested else []
    context.close()
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, url, CLIENT_USER, client_password)
    shot, seen = shoot_pages(page, url, navigation(site, "client"), out, prefix="client-", only=CLIENT_PAGES)
    context.close()
    return files + shot, notes + seen


def stop(site: Site) -> None:
    """Stop the app, then the demo's process group (simulator and collector): only what this script started."""
    if site.server is not None:
        site.server.stop()
    if site.demo is not None and site.demo.poll() is None:
        os.killpg(site.demo.pid, signal.SIGTERM)
        try:
            site.demo.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(site.demo.pid, signal.SIGKILL)
            site.demo.wait()


def main(argv: list[str] | None = None) -> int:
    """Build the site, shoot every page; 0 when every page drew without an exception."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the pictures (default docs/screenshots)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="nxforge-screenshots-"))
    keep = False
    site = build_site(folder)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        start_demo(site)
        enabled = list(site.env.load_core_config().modules.enabled)
        wait_for_first_runs(site, enabled)
        client_password = add_client_user(site)
        site.server = StreamlitServer(site.variables, folder / "streamlit.log").start(timeout_s=120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                files, notes = run(browser, site, client_password, args.out)
            finally:
                browser.close()
    except Exception as exc:  # ours say which page and why; a Playwright timeout names the locator it waited for
        keep = True
        print(f"screenshots: FAILED: {type(exc).__name__}: {exc}\n(logs kept in {folder})", file=sys.stderr)
        return 1
    finally:
        stop(site)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    for note in notes:
        print(f"note: {note}")
    print(f"screenshots: {len(files)} pictures in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
