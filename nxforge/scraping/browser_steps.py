"""Moving through a browser page: loading a url and running the configured steps.

Navigations wait for ``domcontentloaded`` (scripts have run; values are polled anyway). HTTP
error statuses become the same failures as in the http engine (``http_status``); Chromium's
``net::ERR_*`` names become our error classes. Each step returns the frame later steps and the
values work in, so a ``frame`` step moves everything after it into the iframe.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .config import Step
from .context import RunContext
from .errors import ScrapeFailure
from .http_status import BINARY_HINT, TLS_HINT, UNREACHABLE_HINT, raise_for_status, redirect_loop

POLL_S = 0.05  # how often a page is asked again while waiting for a login or a value
CHROMIUM_MAX_REDIRECTS = 20


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
            hint=BINARY_HINT, step_index=step_index)
    if "ERR_CERT" in first or "ERR_SSL" in first:
        return ScrapeFailure("tls", f"TLS failed for {url}: {first}",
                             hint=TLS_HINT)
    if "ERR_TIMED_OUT" in first:
        return ScrapeFailure("timeout", f"{url} did not answer in time: {first}")
    if "net::ERR_" in first:
        return ScrapeFailure("unreachable", f"could not load {url}: {first}",
                             hint=UNREACHABLE_HINT)
    return ScrapeFailure("step_failed", f"loading {url} failed: {first}", step_index=step_index)


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
            elif step.selector and step.text is not None:  # the element shows the text (case-insensitive)
                target = frame.locator(step.selector).filter(has_text=step.text).first
                await target.wait_for(state="attached", timeout=timeout_ms)
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
            f"{timeout_ms / 1000:.1f}s and the element never became ready"
            + (f" (never contained `{step.text}`)" if getattr(step, "text", None) and getattr(step, "selector", None)
               and step.action == "wait" else ""),
            hint="check the selector in the page source (evidence), or add a wait step", step_index=index,
        ) from None
    except PlaywrightError as exc:
        ctx.raise_if_aborted()
        raise ScrapeFailure("step_failed", f"{described}: {ctx.secrets.redact(exc.message.splitlines()[0])}",
                            step_index=index) from None
    ctx.raise_if_aborted()
    return frame
