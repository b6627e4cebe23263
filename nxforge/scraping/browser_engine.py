"""The browser engine: Playwright driving one shared Chromium, an isolated context per scrape.

Reads what only a browser can: values filled by JavaScript, tabs, selects, iframes. Values are
polled briefly because meters often print a placeholder (``---``) until their XHR returns.

Each page gets a ``PageGuard`` (a CDP session of its own): it caps every response at
``max_body_bytes`` (Content-Length first, then bytes as they arrive) and closes the page's
context when a device sends too much, and it blocks images, fonts and media, which no reading
needs. Navigations wait for ``domcontentloaded`` (scripts have run; values are polled anyway).
Evidence is bounded in time and size so a hung or huge page cannot stall the failure path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import BrowserContext, CDPSession, Frame, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .auth import fetch_token
from .browser import BrowserPool
from .config import (
    BasicAuth,
    CookieAuth,
    DigestAuth,
    FormAuth,
    LoggedInCheck,
    Step,
    TokenAuth,
    ValueSpec,
)
from .context import RunContext, Snapshot
from .document import find_json
from .errors import ScrapeFailure
from .http_client import HttpClients
from .http_status import keeps_session, raise_for_status, redirect_loop
from .limits import EVIDENCE_PREFIX_CHARS, MAX_BODY_BYTES, MAX_SOURCE_CHARS, size_text
from .reading import selector_not_found
from .result import ReadValue
from .session import SessionStore
from .suggest import suggest_html
from .values import interpret_json, interpret_text

log = logging.getLogger(__name__)

VALUE_WAIT_S = 3.0  # how long a value may take to be filled in by the page's script
LOGIN_WAIT_S = 8.0
POLL_S = 0.05
SNAPSHOT_S = 1.5  # evidence after a timeout must fit in the engine's grace period
#: Control characters and replacement marks: what binary bytes become once a browser decodes them.
BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")
CHROMIUM_MAX_REDIRECTS = 20
#: Never needed to read a value; blocked in every page (Network.setBlockedURLs patterns).
BLOCKED_URLS = [
    f"*.{ext}{tail}"
    for ext in ("png", "jpg", "jpeg", "gif", "webp", "bmp", "ico", "svg", "woff", "woff2", "ttf", "otf", "eot",
                "mp4", "webm", "ogg", "mp3", "wav", "avi")
    for tail in ("", "?*")
]
SOURCE_JS = """(max) => {
  const root = document.documentElement;
  const html = root ? root.outerHTML : '';
  return html.length > max ? html.slice(0, max) + `\n<!-- truncated by NxForge at ${max} characters -->` : html;
}"""
# Reading in the page's own world is ~10x cheaper than a Playwright locator on a fresh context
# (no selector engine to inject); Playwright-only selectors fall back to locators.
READ_JS = """([selector, kind, attribute]) => {
  const e = kind === 'xpath'
    ? document.evaluate(selector, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue
    : document.querySelector(selector);
  if (!e) return null;
  if (attribute) return e.getAttribute ? (e.getAttribute(attribute) || '') : '';
  if (e instanceof HTMLInputElement || e instanceof HTMLTextAreaElement || e instanceof HTMLSelectElement)
    return e.value;
  return e.textContent || '';
}"""
FILL_JS = """(fields) => {
  const inputs = fields.map(([selector]) => document.querySelector(selector));
  const usable = (e) => e instanceof HTMLInputElement && !e.disabled && !e.readOnly && e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== 'hidden';
  if (!inputs.every(usable)) return false;
  // The prototype's setter, so frameworks that track the value (React) see the change.
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  fields.forEach(([, value], i) => {
    const e = inputs[i];
    e.focus();
    setValue.call(e, value);
    e.dispatchEvent(new Event('input', {bubbles: true}));
    e.dispatchEvent(new Event('change', {bubbles: true}));
  });
  return true;
}"""
FORM_BACK_JS = """(selector) => {
  if (document.readyState !== 'complete') return false;
  const e = document.querySelector(selector);
  return !!e && e.value === '';
}"""
CLEAR_INPUTS_JS = """(secrets) => {
  for (const el of document.querySelectorAll('input, textarea')) {
    if (el.type === 'password' || secrets.some((s) => s && el.value.includes(s))) el.value = '';
  }
}"""


class BrowserEngine:
    """Runs browser scrapes on the shared browser."""

    def __init__(self, pool: BrowserPool, http: HttpClients, sessions: SessionStore,
                 max_body_bytes: int = MAX_BODY_BYTES, block_resources: bool = True) -> None:
        self.pool = pool
        self.http = http
        self.sessions = sessions
        self.max_body_bytes = max_body_bytes
        self.block_resources = block_resources

    async def run(self, ctx: RunContext, suggest_only: bool = False) -> dict[str, ReadValue]:
        """Open a context, log in when needed, run the steps, read values; evidence on failure."""
        browser = await self.pool.get()
        config, auth = ctx.config, ctx.config.auth
        keep = keeps_session(config)
        state = self.sessions.load(ctx.key) if keep else None
        options: dict[str, Any] = {"ignore_https_errors": not config.verify_tls, "viewport": {"width": 1280,
                                                                                           "height": 900}}
        if state and state.get("cookies"):
            options["storage_state"] = {"cookies": state["cookies"], "origins": []}
        if isinstance(auth, BasicAuth | DigestAuth):
            options["http_credentials"] = {"username": ctx.secrets.resolve(auth.username),
                                           "password": ctx.secrets.resolve_secret(auth.password)}
        token: str | None = None
        if isinstance(auth, TokenAuth):
            async with self.http.scoped_client(ctx) as client:
                token = (state or {}).get("token") or await fetch_token(self.http, client, ctx)
            ctx.secrets.add(token)
            options["extra_http_headers"] = {auth.header: auth.prefix + token}
        context = await browser.new_context(**options)
        context.set_default_timeout(ctx.remaining() * 1000)
        landing: str | None = None
        try:
            page = await context.new_page()
            guard = PageGuard(ctx, self.max_body_bytes)
            await guard.attach(context, page, self.block_resources)
            if isinstance(auth, CookieAuth):
                await context.add_cookies([{"name": auth.cookie_name, "url": config.url,
                                            "value": ctx.secrets.resolve_secret(auth.cookie_value)}])
            try:
                await goto(page, ctx, config.url, None)
                ctx.mark("first load")
                if isinstance(auth, FormAuth) and not (keep and state and await _session_valid(page, ctx, auth)):
                    await _form_login(page, ctx, auth)
                    landing = page.url
                    ctx.mark("login")
                frame = page.main_frame
                for index, step in enumerate(config.steps):
                    frame = await run_step(page, frame, step, index, ctx)
                    ctx.mark(f"step {index} {step.action}")
                if suggest_only:
                    ctx.snapshot = Snapshot(url=frame.url, source=await frame.content())
                    return {}
                values = await read_values(frame, ctx)
                ctx.raise_if_aborted()
                ctx.mark("values")
                if keep:
                    self.sessions.save(ctx.key, [dict(c) for c in await context.cookies()], token, ctx.secrets.values)
                if ctx.capture_evidence:
                    await bounded_snapshot(page, ctx, guard)
                return values
            except ScrapeFailure as failure:
                if failure.error_class == "auth_failed":
                    self.sessions.clear(ctx.key)
                await bounded_snapshot(page, ctx, guard)
                raise
            finally:
                if isinstance(auth, FormAuth) and auth.logout_url and landing:
                    await _logout(page, ctx, urljoin(landing, auth.logout_url))
        finally:
            try:
                await context.close()
            except PlaywrightError as exc:
                log.debug("context close for %s: %s", ctx.key, exc)


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
                source = str(await asyncio.wait_for(page.evaluate(SOURCE_JS, EVIDENCE_PREFIX_CHARS), 0.5))
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


async def goto(page: Page, ctx: RunContext, url: str, step_index: int | None, timeout_s: float | None = None) -> None:
    """Load a page; network errors and HTTP error statuses become classified failures."""
    shown = ctx.secrets.redact(url)
    budget = ctx.remaining(timeout_s)
    try:
        response = await page.goto(url, wait_until="domcontentloaded", timeout=budget * 1000)
    except PlaywrightTimeout:
        ctx.raise_if_aborted()
        raise ScrapeFailure("timeout", f"{shown} did not finish loading within {budget:.1f}s "
                            f"(what was left of timeout_s={ctx.config.timeout_s:g}s)",
                            hint="the device is hung, slow or trickling its answer; raise timeout_s only if "
                            "it is always this slow", step_index=step_index) from None
    except PlaywrightError as exc:
        ctx.raise_if_aborted()
        raise classify_browser_error(exc, shown, step_index) from None
    ctx.raise_if_aborted()
    if response is None:
        return
    raise_for_status(response.status, shown, step_index)


def classify_browser_error(exc: PlaywrightError, url: str, step_index: int | None) -> ScrapeFailure:
    """Chromium's net::ERR_* names to our error classes."""
    first = exc.message.splitlines()[0] if exc.message else type(exc).__name__
    if "ERR_TOO_MANY_REDIRECTS" in first:
        return redirect_loop(url, f"more than {CHROMIUM_MAX_REDIRECTS} times", None, step_index)
    if "Download is starting" in first:
        return ScrapeFailure(
            "selector_not_found",
            f"{url} answered a file download (binary content), not a page: no value can be read from it",
            hint="check the url (a download, image or firmware link?) and that the device is the one the "
            "config is written for", step_index=step_index)
    if "ERR_CERT" in first or "ERR_SSL" in first:
        return ScrapeFailure("tls", f"TLS failed for {url}: {first}",
                             hint="self-signed certificate? set verify_tls: false for this endpoint")
    if "ERR_TIMED_OUT" in first:
        return ScrapeFailure("timeout", f"{url} did not answer in time: {first}")
    if "net::ERR_" in first:
        return ScrapeFailure("unreachable", f"could not load {url}: {first}",
                             hint="is the device on, and the address and port right?")
    return ScrapeFailure("step_failed", f"loading {url} failed: {first}", step_index=step_index)


async def check_page(frame: Frame | Page, check: LoggedInCheck | None) -> bool:
    """The logged-in (or login-failed) check; default: no visible password input."""
    try:
        if check is None:
            return await frame.locator("input[type=password]:visible").count() == 0
        if check.url_contains:
            return check.url_contains in frame.url
        if check.selector:
            return await frame.locator(check.selector).count() > 0
        return await frame.get_by_text(check.text or "").count() > 0
    except PlaywrightError:
        return False  # the page is navigating; ask again


async def _session_valid(page: Page, ctx: RunContext, auth: FormAuth) -> bool:
    """With kept cookies: logged in, or does the login form show? Waits until one is clear."""
    deadline = time.monotonic() + ctx.remaining(LOGIN_WAIT_S)
    form = page.locator(auth.username_field)
    while time.monotonic() < deadline:
        if auth.logged_in is not None and await check_page(page, auth.logged_in):
            return True
        try:
            if await form.count() > 0 and await form.first.is_visible():
                return False
        except PlaywrightError:
            pass
        if auth.logged_in is None:
            return await check_page(page, None)
        await asyncio.sleep(POLL_S)
    return False


async def _form_login(page: Page, ctx: RunContext, auth: FormAuth) -> None:
    """Fill and submit the login form, then wait for the logged-in check (or a clear refusal)."""
    if auth.login_url:
        login_url = urljoin(ctx.config.url, auth.login_url)
        if page.url.split("?")[0] != login_url.split("?")[0]:
            await goto(page, ctx, login_url, None)
    username = ctx.secrets.resolve(auth.username)
    password = ctx.secrets.resolve_secret(auth.password)
    try:
        if not await _fill_at_once(page, [(auth.username_field, username), (auth.password_field, password)]):
            await page.locator(auth.username_field).first.fill(username, timeout=ctx.remaining(5.0) * 1000)
            await page.locator(auth.password_field).first.fill(password, timeout=ctx.remaining(5.0) * 1000)
        if auth.submit:
            await page.locator(auth.submit).first.click(timeout=ctx.remaining(5.0) * 1000)
        else:
            await page.locator(auth.password_field).first.press("Enter")
    except PlaywrightTimeout:
        raise ScrapeFailure(
            "auth_failed", f"the login form on {ctx.secrets.redact(page.url)} has no "
            f"`{auth.username_field}`/`{auth.password_field}`/`{auth.submit}`",
            hint="check login_url and the field selectors; the session may also be open elsewhere",
        ) from None
    except PlaywrightError as exc:
        raise classify_browser_error(exc, ctx.secrets.redact(page.url), None) from None
    deadline = time.monotonic() + ctx.remaining(LOGIN_WAIT_S)
    while time.monotonic() < deadline:
        if await check_page(page, auth.logged_in):
            return
        if auth.login_failed is not None and await check_page(page, auth.login_failed):
            break
        if await _login_form_back(page, auth):
            break
        await asyncio.sleep(POLL_S)
    from .auth import login_refused

    raise login_refused(ctx, page.url, await _visible_text(page))


async def _fill_at_once(page: Page, fields: list[tuple[str, str]]) -> bool:
    """Fill visible, editable inputs in one round trip, with the events a typing user causes.

    ``locator.fill`` costs several round trips per field (~100 ms each on a busy box); when a
    field is missing, hidden, not an input, or the selector is Playwright-only, this returns
    False and the caller fills with locators, which also wait for late-rendered forms.
    """
    try:
        return bool(await page.evaluate(FILL_JS, fields))
    except PlaywrightError:
        return False


async def _login_form_back(page: Page, auth: FormAuth) -> bool:
    """A fresh, empty password field after submitting means the device showed the form again.

    One round trip in the page (no auto-waiting locator: while the page navigates that would
    wait up to its timeout on every poll); Playwright-only selectors fall back to a locator.
    """
    try:
        return bool(await page.evaluate(FORM_BACK_JS, auth.password_field))
    except PlaywrightError as exc:
        if "SyntaxError" not in exc.message:
            return False  # the page is navigating: ask again
    try:
        field = page.locator(auth.password_field)
        return await field.count() > 0 and await field.first.input_value(timeout=500) == "" and \
            await page.evaluate("document.readyState") == "complete"
    except PlaywrightError:
        return False


async def _visible_text(page: Page) -> str:
    try:
        return str(await page.evaluate("document.body ? document.body.innerText : ''"))[:400]
    except PlaywrightError:
        return ""


async def _logout(page: Page, ctx: RunContext, url: str) -> None:
    """Log off (one-session devices); failures are only logged."""
    try:
        await page.goto(url, timeout=3000)
    except PlaywrightError as exc:
        log.info("log-off from %s failed: %s", ctx.key, ctx.secrets.redact(exc.message.splitlines()[0]))


async def run_step(page: Page, frame: Frame, step: Step, index: int, ctx: RunContext) -> Frame:
    """Run one step; returns the frame later steps and values work in."""
    timeout_ms = ctx.remaining(step.timeout_s) * 1000
    described = f"step {index} ({step.action}" + (f" `{step.selector}`)" if hasattr(step, "selector") and
                                                  getattr(step, "selector", None) else ")")
    try:
        if step.action == "navigate":
            await goto(page, ctx, urljoin(frame.url, ctx.secrets.resolve(step.url)), index, step.timeout_s)
            return page.main_frame
        if step.action == "click":
            await frame.locator(step.selector).first.click(timeout=timeout_ms)
        elif step.action == "type":
            await frame.locator(step.selector).first.fill(ctx.secrets.resolve(step.text), timeout=timeout_ms)
        elif step.action == "select":
            target = frame.locator(step.selector).first
            if step.value is not None:
                await target.select_option(value=step.value, timeout=timeout_ms)
            else:
                await target.select_option(label=step.label, timeout=timeout_ms)
        elif step.action == "wait":
            if step.ms is not None:
                await asyncio.sleep(min(step.ms / 1000, ctx.remaining()))
            elif step.selector:
                await frame.locator(step.selector).first.wait_for(state="attached", timeout=timeout_ms)
            else:
                await frame.get_by_text(step.text or "").first.wait_for(timeout=timeout_ms)
        elif step.action == "frame":
            handle = await frame.locator(step.selector).first.element_handle(timeout=timeout_ms)
            inner = await handle.content_frame() if handle else None
            if inner is None:
                raise ScrapeFailure("step_failed", f"{described}: the element is not an iframe",
                                    step_index=index)
            await inner.wait_for_load_state("load", timeout=timeout_ms)
            return inner
    except PlaywrightTimeout:
        ctx.raise_if_aborted()
        ctx.check_deadline(described)
        raise ScrapeFailure(
            "step_failed", f"{described} on {ctx.secrets.redact(frame.url)}: waited "
            f"{timeout_ms / 1000:.1f}s and the element never became ready",
            hint="check the selector in the page source (evidence), or add a wait step", step_index=index,
        ) from None
    except PlaywrightError as exc:
        ctx.raise_if_aborted()
        raise ScrapeFailure("step_failed", f"{described}: {ctx.secrets.redact(exc.message.splitlines()[0])}",
                            step_index=index) from None
    ctx.raise_if_aborted()
    return frame


async def read_values(frame: Frame, ctx: RunContext) -> dict[str, ReadValue]:
    """Read every value in ``frame``, giving each a short grace time to be filled in."""
    values: dict[str, ReadValue] = {}
    for name, spec in ctx.config.values.items():
        ctx.raise_if_aborted()
        if spec.kind == "jsonpath":
            values[name] = await _read_json(frame, name, spec)
        else:
            values[name] = await _read_element(frame, name, spec, ctx)
    return values


async def _read_json(frame: Frame, name: str, spec: ValueSpec) -> ReadValue:
    body = str(await frame.evaluate("document.body ? document.body.innerText : ''"))
    try:
        data = json.loads(body)
    except ValueError:
        raise ScrapeFailure("config", f"value `{name}`: a JSONPath selector needs a JSON page, and "
                            f"{frame.url} is not JSON", hint="use the http engine for JSON APIs") from None
    found, content = find_json(data, spec.selector)
    if not found:
        raise selector_not_found(name, spec, frame.url, lambda: [])
    return interpret_json(name, spec, content)


async def _read_element(frame: Frame, name: str, spec: ValueSpec, ctx: RunContext) -> ReadValue:
    kind = spec.kind
    expression = spec.selector.removeprefix("xpath=")
    deadline = time.monotonic() + ctx.remaining(VALUE_WAIT_S)
    last_failure: ScrapeFailure | None = None
    use_locator = False
    while True:
        text: str | None = None
        try:
            if use_locator:
                text = await _locator_text(frame, spec)
            else:
                text = await frame.evaluate(READ_JS, [expression, kind, spec.attribute])
        except PlaywrightError as exc:
            if not use_locator and "SyntaxError" in exc.message and "is not a valid" in exc.message:
                use_locator = True  # a Playwright selector (":has-text", ">>"): let Playwright resolve it
                continue
            if use_locator and "selector" in exc.message.lower():
                raise ScrapeFailure("config", f"value `{name}`: `{spec.selector}` is not a valid selector") from None
            # otherwise the page is navigating: ask again
        if text is not None:
            try:
                return interpret_text(name, spec, text)
            except ScrapeFailure as failure:
                if failure.error_class == "implausible":
                    raise
                last_failure = failure
        if time.monotonic() >= deadline:
            break
        ctx.raise_if_aborted()
        await asyncio.sleep(POLL_S)
    if last_failure is not None:
        raise last_failure
    html = str(await frame.evaluate(SOURCE_JS, MAX_SOURCE_CHARS))
    if len(BINARY_CHARS.findall(html, 0, 65536)) > 64:
        raise ScrapeFailure(
            "selector_not_found",
            f"{ctx.secrets.redact(frame.url)} shows binary content (the browser replaced undecodable bytes): "
            "no value can be read from it",
            hint="check the url (a download, image or firmware link?) and that the device is the one the "
            "config is written for")
    raise selector_not_found(name, spec, frame.url, lambda: suggest_html(html, 3))


async def _locator_text(frame: Frame, spec: ValueSpec) -> str | None:
    selector = spec.selector if spec.kind == "css" else "xpath=" + spec.selector.removeprefix("xpath=")
    locator = frame.locator(selector)
    if await locator.count() == 0:
        return None
    if spec.attribute:
        return await locator.first.get_attribute(spec.attribute, timeout=1000) or ""
    return str(await locator.first.evaluate(
        "e => (e instanceof HTMLInputElement || e instanceof HTMLTextAreaElement"
        " || e instanceof HTMLSelectElement) ? e.value : (e.textContent || '')"))


async def bounded_snapshot(page: Page, ctx: RunContext, guard: PageGuard | None = None) -> None:
    """``snapshot`` with loads stopped first and a time limit: a hung page must not hang the failure."""
    if ctx.abort is not None:
        return  # the guard closed the page and kept what evidence there was
    if guard is not None:
        await guard.stop()  # a navigation still pending (blackhole, trickle) would block the screenshot
    budget = min(ctx.remaining() + SNAPSHOT_S, 5.0)
    try:
        await asyncio.wait_for(snapshot(page, ctx, budget), budget)
    except TimeoutError:
        log.info("evidence for %s abandoned after %.1fs", ctx.key, budget)
        if not ctx.snapshot.source:
            ctx.snapshot = Snapshot(url=page.url, source="<!-- the page did not respond in time for evidence -->")


async def snapshot(page: Page, ctx: RunContext, budget_s: float = 5.0) -> None:
    """Keep the page source (frames included, each bounded) and a screenshot taken after clearing secret inputs."""
    raw_secrets = sorted(s for s in ctx.secrets.values if s)
    source, png = "", None
    ctx.snapshot = Snapshot(url=page.url, source="")
    try:
        parts: list[str] = []
        for index, frame in enumerate(page.frames):
            try:
                await frame.evaluate(CLEAR_INPUTS_JS, raw_secrets)
                html = str(await frame.evaluate(SOURCE_JS, MAX_SOURCE_CHARS))
            except PlaywrightError:
                continue
            parts.append(html if index == 0 else f"\n<!-- frame {frame.url} -->\n{html}")
        source = "".join(parts)
        ctx.snapshot = Snapshot(url=page.url, source=source)  # kept even if the screenshot fails
        png = await page.screenshot(type="png", timeout=budget_s * 1000)
    except PlaywrightError as exc:
        log.info("evidence for %s incomplete: %s", ctx.key, exc.message.splitlines()[0])
    ctx.snapshot = Snapshot(url=page.url, source=source, screenshot=png)
