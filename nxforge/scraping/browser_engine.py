"""The browser engine: Playwright driving one shared Chromium, an isolated context per scrape.

Reads what only a browser can: values filled by JavaScript, tabs, selects, iframes. This file
is one scrape's life: a fresh context (kept cookies, credentials or a token in it), a guarded
page, the first load, the login, the steps, the values, the evidence, the log-off, the close.
The parts are files of their own: ``browser_guard`` (each page's CDP size guard, which closes
the context when a device sends too much, and blocks images, fonts and media), ``browser_steps``
(loading and steps), ``browser_login``, ``browser_reading`` and ``browser_evidence``; the
JavaScript they run in pages is in ``js/``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from .auth import fetch_token
from .browser import BrowserPool
from .browser_evidence import bounded_snapshot
from .browser_guard import PageGuard
from .browser_js import PAGE_SOURCE
from .browser_login import form_login, logout, session_valid
from .browser_reading import read_values
from .browser_steps import goto, run_step
from .config import BasicAuth, CookieAuth, DigestAuth, FormAuth, TokenAuth
from .context import RunContext, Snapshot
from .errors import ScrapeFailure
from .http_client import HttpClients
from .http_status import keeps_session
from .limits import MAX_BODY_BYTES, MAX_SOURCE_CHARS
from .result import ReadValue
from .session import SessionStore

log = logging.getLogger(__name__)


class BrowserEngine:
    """Runs browser scrapes on the shared browser."""

    def __init__(self, pool: BrowserPool, clients: HttpClients, sessions: SessionStore,
                 max_body_bytes: int = MAX_BODY_BYTES, block_resources: bool = True) -> None:
        self.pool = pool
        self.clients = clients  # for the token request of token auth
        self.sessions = sessions
        self.max_body_bytes = max_body_bytes
        self.block_resources = block_resources

    async def run(self, ctx: RunContext, suggest_only: bool = False) -> dict[str, ReadValue]:
        """Open a context, log in when needed, run the steps, read values; evidence on failure."""
        browser = await self.pool.get()
        config, auth = ctx.config, ctx.config.auth
        keep = keeps_session(config)
        key = ctx.session_key or ctx.key
        shared = key != ctx.key  # endpoints of a one-session device: the login an earlier one left open
        state = self.sessions.load(key) if keep or shared else None
        options: dict[str, Any] = {"ignore_https_errors": not config.verify_tls, "viewport": {"width": 1280,
                                                                                           "height": 900}}
        if state and state.get("cookies"):
            options["storage_state"] = {"cookies": state["cookies"], "origins": []}
        if isinstance(auth, BasicAuth | DigestAuth):
            options["http_credentials"] = {"username": ctx.secrets.resolve(auth.username),
                                           "password": ctx.secrets.resolve_secret(auth.password)}
        token: str | None = None
        if isinstance(auth, TokenAuth):
            async with self.clients.scoped_client(ctx) as client:
                token = (state or {}).get("token") or await fetch_token(self.clients, client, ctx)
            ctx.secrets.add(token)
            options["extra_http_headers"] = {auth.header: auth.prefix + token}
        context = await browser.new_context(**options)
        context.set_default_timeout(ctx.remaining() * 1000)
        landing: str | None = None
        resumed = read = False
        try:
            page = await context.new_page()
            guard = PageGuard(ctx, self.max_body_bytes)
            await guard.attach(context, page, self.block_resources)
            if isinstance(auth, CookieAuth):
                await context.add_cookies([{"name": auth.cookie_name, "url": config.url,
                                            "value": ctx.secrets.resolve_secret(auth.cookie_value)}])
            kept_landing = (state or {}).get("landing") if isinstance(auth, FormAuth) else None
            try:
                resumed = kept_landing is not None and await self._resume(page, ctx, kept_landing)
                if not resumed:
                    await goto(page, ctx, config.url, None)
                ctx.mark("first load")
                if isinstance(auth, FormAuth) and not resumed and \
                        not (keep and state and await session_valid(page, ctx, auth)):
                    await form_login(page, ctx, auth)
                    landing = page.url
                    ctx.mark("login")
                frame = page.main_frame
                for index, step in enumerate(config.steps):
                    frame = await run_step(page, frame, step, index, ctx)
                    ctx.mark(f"step {index} {step.action}")
                if suggest_only:  # the page source (open shadow roots inside; XML as XML), for Suggest
                    source = await frame.evaluate(PAGE_SOURCE, MAX_SOURCE_CHARS)
                    ctx.snapshot = Snapshot(url=frame.url, source=str(source))
                    return {}
                values = await read_values(frame, ctx)
                ctx.raise_if_aborted()
                ctx.mark("values")
                read = True
                if keep or (shared and ctx.stay_logged_in):
                    self.sessions.save(key, [dict(c) for c in await context.cookies()], token, ctx.secrets.values,
                                       landing=landing or kept_landing)
                if ctx.capture_evidence:
                    await bounded_snapshot(page, ctx, guard)
                return values
            except ScrapeFailure as failure:
                if failure.error_class == "auth_failed":
                    self.sessions.clear(key)
                await bounded_snapshot(page, ctx, guard)
                raise
            finally:
                logged_in_at = landing or (kept_landing if resumed else None)
                if isinstance(auth, FormAuth) and auth.logout_url and logged_in_at and \
                        not (read and ctx.stay_logged_in):
                    await logout(page, ctx, urljoin(logged_in_at, auth.logout_url))
                    if shared:
                        self.sessions.clear(key)
        finally:
            try:
                await context.close()
            except PlaywrightError as exc:
                log.debug("context close for %s: %s", ctx.key, exc)

    async def _resume(self, page: Page, ctx: RunContext, kept_landing: str) -> bool:
        """Open the page the kept login landed on; True when the session is still good there."""
        auth = ctx.config.auth
        assert isinstance(auth, FormAuth)
        try:
            await goto(page, ctx, kept_landing, None)
        except ScrapeFailure as failure:
            if failure.error_class not in ("step_failed", "auth_failed"):
                raise
            return False  # an expired session's page answers 404 or 401 on some devices
        return await session_valid(page, ctx, auth)
