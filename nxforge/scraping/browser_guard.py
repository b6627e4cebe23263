"""The size guard of a browser page: a CDP session that bounds downloads and blocks media.

A device that streams garbage, or announces a huge body, must not hold a page (and a browser
slot) until the scrape's deadline: the guard records the failure, keeps the start of the page
as evidence and closes the page's context, so whatever waits on it returns at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from .browser_js import PAGE_SOURCE
from .context import RunContext, Snapshot
from .errors import ScrapeFailure
from .limits import EVIDENCE_PREFIX_CHARS, size_text

log = logging.getLogger(__name__)

#: Never needed to read a value; blocked in every page (Network.setBlockedURLs patterns).
BLOCKED_URLS = [
    f"*.{ext}{tail}"
    for ext in ("png", "jpg", "jpeg", "gif", "webp", "bmp", "ico", "svg", "woff", "woff2", "ttf", "otf", "eot",
                "mp4", "webm", "ogg", "mp3", "wav", "avi")
    for tail in ("", "?*")
]


class PageGuard:
    """Bounds what one page may download, and blocks images, fonts and media.

    Works on a CDP session of its own: ``Network.responseReceived`` gives each response's
    Content-Length, ``Network.dataReceived`` the decoded bytes as they arrive (so a body with
    no length, streamed forever, is caught too). Past the limit it records the failure in
    ``ctx.abort``, keeps the start of the page as evidence and closes the page's context:
    whatever waits on it (a navigation that would only end at the deadline) returns at once and
    raises it.
    """

    def __init__(self, ctx: RunContext, limit: int) -> None:
        self.ctx = ctx
        self.limit = limit
        self.session: CDPSession | None = None
        self.page: Page | None = None
        self._received: dict[str, int] = {}
        self._urls: dict[str, str] = {}
        self._stopping: asyncio.Task[None] | None = None

    async def attach(self, context: BrowserContext, page: Page, block_resources: bool) -> None:
        """Start watching ``page`` (before its first navigation)."""
        session = await context.new_cdp_session(page)
        session.on("Network.responseReceived", self._on_response)
        session.on("Network.dataReceived", self._on_data)
        # No body buffering for this session: it only counts bytes.
        await session.send("Network.enable", {"maxTotalBufferSize": 0, "maxResourceBufferSize": 0})
        if block_resources:
            await session.send("Network.setBlockedURLs", {"urls": BLOCKED_URLS})
        self.session, self.page = session, page

    def _on_response(self, event: dict[str, Any]) -> None:
        response = event.get("response") or {}
        url = str(response.get("url", ""))
        self._urls[str(event.get("requestId"))] = url
        for name, value in (response.get("headers") or {}).items():
            if name.lower() == "content-length" and str(value).isdigit() and int(value) > self.limit:
                self._trip(url, f"announced a {size_text(int(value))} response", keep_source=False)

    def _on_data(self, event: dict[str, Any]) -> None:
        request_id = str(event.get("requestId"))
        total = self._received.get(request_id, 0) + int(event.get("dataLength") or 0)
        self._received[request_id] = total
        if total > self.limit:
            self._trip(self._urls.get(request_id, self.ctx.config.url), f"sent more than {size_text(self.limit)}")

    def _trip(self, url: str, what: str, keep_source: bool = True) -> None:
        if self.ctx.abort is not None:
            return
        self.ctx.abort = ScrapeFailure(
            "step_failed",
            f"{self.ctx.secrets.redact(url)} {what}; NxForge reads at most {size_text(self.limit)} per response "
            "and stopped loading the page",
            hint="a meter's pages are a few kB: check the url, or the device is streaming garbage (restart it)",
        )
        self._stopping = asyncio.ensure_future(self._halt(url, keep_source))

    async def _halt(self, url: str, keep_source: bool) -> None:
        """Keep the start of what arrived as evidence (when asked), then close the page."""
        page = self.page
        if page is None:
            return
        note = f"\n<!-- NxForge closed this page: {self.ctx.abort.message if self.ctx.abort else ''} -->"
        source = ""
        if keep_source:  # a busy renderer may not answer: never wait long for it
            with contextlib.suppress(TimeoutError, PlaywrightError):
                source = str(await asyncio.wait_for(page.evaluate(PAGE_SOURCE, EVIDENCE_PREFIX_CHARS), 0.5))
        self.ctx.snapshot = Snapshot(url=url, source=source + note)
        try:
            # The whole context: closing only the page can wait for the busy renderer until the deadline.
            await page.context.close()
        except PlaywrightError as exc:
            log.debug("closing the oversized page of %s: %s", self.ctx.key, exc.message.splitlines()[0])

    async def stop(self) -> None:
        """Stop every navigation and fetch in progress (a hung or oversized load)."""
        if self.session is None:
            return
        try:
            await self.session.send("Page.stopLoading")
        except PlaywrightError as exc:
            log.debug("stopLoading for %s: %s", self.ctx.key, exc.message.splitlines()[0])
