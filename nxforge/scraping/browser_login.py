"""Logging in through a browser page: the login form, the logged-in check, logging off.

Form fields are filled in one round trip in the page when they are plain visible inputs (see
``_fill_at_once``), with Playwright locators otherwise. After submitting, the page is polled
until the logged-in check passes, the configured failure check matches, or the empty login
form shows again; a refusal quotes what the device said.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urljoin

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .auth import login_refused
from .browser_js import BODY_TEXT, FILL_INPUTS, LOGIN_FORM_BACK
from .browser_steps import POLL_S, classify_browser_error, goto
from .config import FormAuth, LoggedInCheck
from .context import RunContext
from .errors import ScrapeFailure

log = logging.getLogger(__name__)

LOGIN_WAIT_S = 8.0  # how long a device may take to show that the login worked (or did not)


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


async def session_valid(page: Page, ctx: RunContext, auth: FormAuth) -> bool:
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


async def form_login(page: Page, ctx: RunContext, auth: FormAuth) -> None:
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
    raise login_refused(ctx, page.url, await visible_text(page))


async def _fill_at_once(page: Page, fields: list[tuple[str, str]]) -> bool:
    """Fill visible, editable inputs in one round trip, with the events a typing user causes.

    ``locator.fill`` costs several round trips per field (~100 ms each on a busy box); when a
    field is missing, hidden, not an input, or the selector is Playwright-only, this returns
    False and the caller fills with locators, which also wait for late-rendered forms.
    """
    try:
        return bool(await page.evaluate(FILL_INPUTS, fields))
    except PlaywrightError:
        return False


async def _login_form_back(page: Page, auth: FormAuth) -> bool:
    """A fresh, empty password field after submitting means the device showed the form again.

    One round trip in the page (no auto-waiting locator: while the page navigates that would
    wait up to its timeout on every poll); Playwright-only selectors fall back to a locator.
    """
    try:
        return bool(await page.evaluate(LOGIN_FORM_BACK, auth.password_field))
    except PlaywrightError as exc:
        if "SyntaxError" not in exc.message:
            return False  # the page is navigating: ask again
    try:
        field = page.locator(auth.password_field)
        return await field.count() > 0 and await field.first.input_value(timeout=500) == "" and \
            await page.evaluate("document.readyState") == "complete"
    except PlaywrightError:
        return False


async def visible_text(page: Page) -> str:
    """The start of the page's text, quoted when a login is refused."""
    try:
        return str(await page.evaluate(BODY_TEXT))[:400]
    except PlaywrightError:
        return ""


async def logout(page: Page, ctx: RunContext, url: str) -> None:
    """Log off (one-session devices); failures are only logged."""
    try:
        await page.goto(url, timeout=3000)
    except PlaywrightError as exc:
        log.info("log-off from %s failed: %s", ctx.key, ctx.secrets.redact(exc.message.splitlines()[0]))
