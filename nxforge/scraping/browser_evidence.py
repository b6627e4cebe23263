"""Evidence from a browser page: its source (frames included) and a screenshot, secrets cleared.

Bounded in time and size so a hung or huge page cannot stall the failure path: loads are
stopped first, each frame's source is cut at ``MAX_SOURCE_CHARS``, and the whole capture gives
up after a few seconds, keeping what it had.
"""

from __future__ import annotations

import asyncio
import logging

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from .browser_guard import PageGuard
from .browser_js import CLEAR_SECRET_INPUTS, PAGE_SOURCE
from .context import RunContext, Snapshot
from .limits import MAX_SOURCE_CHARS

log = logging.getLogger(__name__)

SNAPSHOT_S = 1.5  # evidence after a timeout must fit in the engine's grace period


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
                await frame.evaluate(CLEAR_SECRET_INPUTS, raw_secrets)
                html = str(await frame.evaluate(PAGE_SOURCE, MAX_SOURCE_CHARS))
            except PlaywrightError:
                continue
            parts.append(html if index == 0 else f"\n<!-- frame {frame.url} -->\n{html}")
        source = "".join(parts)
        ctx.snapshot = Snapshot(url=page.url, source=source)  # kept even if the screenshot fails
        png = await page.screenshot(type="png", timeout=budget_s * 1000)
    except PlaywrightError as exc:
        log.info("evidence for %s incomplete: %s", ctx.key, exc.message.splitlines()[0])
    ctx.snapshot = Snapshot(url=page.url, source=source, screenshot=png)
