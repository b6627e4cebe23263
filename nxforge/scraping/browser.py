"""Which Chromium to drive, and the one browser an engine shares between its contexts.

Preference: Debian's ``chromium-headless-shell`` (2-2.5x faster to start contexts and render),
then Playwright's own downloaded Chromium, then the full ``/usr/bin/chromium``. With none of
them every browser scrape fails with a ``config`` error that says how to install one: a job
must never look successful while nothing could be read.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from .errors import ConfigFailure

log = logging.getLogger(__name__)

HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
HEADLESS_SHELL_BINARY = Path("/usr/lib/chromium/chromium-headless-shell")  # what the wrapper script runs
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "install one: `apt-get install chromium-headless-shell` (or `chromium`), "
    "or `python -m playwright install chromium`"
)


def find_chromium(playwright_default: Path | None = None) -> Path | None:
    """The Chromium executable to launch, or None when the machine has none."""
    if HEADLESS_SHELL.exists():
        # The Debian wrapper is a shell script; launching the binary directly avoids an extra
        # process that would survive a killed browser.
        return HEADLESS_SHELL_BINARY if HEADLESS_SHELL_BINARY.exists() else HEADLESS_SHELL
    if playwright_default is not None and playwright_default.exists():
        return playwright_default
    if SYSTEM_CHROMIUM.exists():
        return SYSTEM_CHROMIUM
    return None


class BrowserPool:
    """Starts Playwright and Chromium lazily (first browser scrape) and relaunches after a crash."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()
        self.executable: Path | None = None

    async def get(self) -> Browser:
        """The shared browser, launched on first use."""
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            default = Path(self._playwright.chromium.executable_path)
            executable = find_chromium(default)
            if executable is None:
                raise ConfigFailure("no Chromium browser is installed on this machine", hint=INSTALL_HINT)
            try:
                self._browser = await self._playwright.chromium.launch(
                    executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
                )
            except PlaywrightError as exc:
                raise ConfigFailure(
                    f"Chromium at {executable} would not start: {exc.message.splitlines()[0]}", hint=INSTALL_HINT
                ) from exc
            self.executable = executable
            log.info("launched %s (Chromium %s)", executable, self._browser.version)
            return self._browser

    async def aclose(self) -> None:
        """Close the browser and stop Playwright's driver."""
        async with self._lock:
            if self._browser is not None:
                try:
                    await self._browser.close()
                except PlaywrightError as exc:
                    log.debug("browser close: %s", exc)
                self._browser = None
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None
