"""Reading the configured values from a browser frame.

Values are polled briefly because meters often print a placeholder (``---``) until their XHR
returns. Each read is one round trip in the page's own world (``read_value.js``); selectors only
Playwright understands (``:has-text``, ``>>``) fall back to a locator. A selector that never
matches gets the energy-looking elements of the page as suggestions.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame

from .browser_js import BODY_TEXT, ELEMENT_VALUE, PAGE_SOURCE, READ_VALUE
from .browser_steps import POLL_S
from .config import ValueSpec
from .context import RunContext
from .document import find_json
from .errors import ScrapeFailure
from .http_status import BINARY_HINT
from .limits import MAX_SOURCE_CHARS
from .reading import selector_not_found
from .result import ReadValue
from .suggest import suggest_html
from .values import interpret_json, interpret_text

VALUE_WAIT_S = 3.0  # how long a value may take to be filled in by the page's script
#: Control characters and replacement marks: what binary bytes become once a browser decodes them.
BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")


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
    """A JSONPath value from a frame showing a JSON answer."""
    body = str(await frame.evaluate(BODY_TEXT))
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
    """A CSS or XPath value, polled until it reads as a number or the wait is over."""
    kind = spec.kind
    expression = spec.selector.removeprefix("xpath=")
    deadline = time.monotonic() + ctx.remaining(VALUE_WAIT_S)
    last_failure: ScrapeFailure | None = None
    use_locator = False
    while True:
        text: str | None = None
        unit_text: str | None = None
        try:
            if use_locator:
                text, unit_text = await _locator_text(frame, spec)
            else:
                found = await frame.evaluate(READ_VALUE, [expression, kind, spec.attribute, spec.unit_from])
                text, unit_text = found if found is not None else (None, None)
        except PlaywrightError as exc:
            if not use_locator and "SyntaxError" in exc.message and "is not a valid" in exc.message:
                use_locator = True  # a Playwright selector (":has-text", ">>"): let Playwright resolve it
                continue
            if use_locator and "selector" in exc.message.lower():
                raise ScrapeFailure("config", f"value `{name}`: `{spec.selector}` is not a valid selector") from None
            # otherwise the page is navigating: ask again
        if text is not None:
            try:
                return interpret_text(name, spec, text, unit_text)
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
    html = str(await frame.evaluate(PAGE_SOURCE, MAX_SOURCE_CHARS))
    if len(BINARY_CHARS.findall(html, 0, 65536)) > 64:
        raise ScrapeFailure(
            "selector_not_found",
            f"{ctx.secrets.redact(frame.url)} shows binary content (the browser replaced undecodable bytes): "
            "no value can be read from it",
            hint=BINARY_HINT)
    raise selector_not_found(name, spec, frame.url, lambda: suggest_html(html, 3))


async def _locator_text(frame: Frame, spec: ValueSpec) -> tuple[str | None, str | None]:
    """(text, unit text) through a Playwright locator (for selectors the page's own DOM cannot run)."""
    selector = spec.selector if spec.kind == "css" else "xpath=" + spec.selector.removeprefix("xpath=")
    locator = frame.locator(selector)
    if await locator.count() == 0:
        return None, None
    text, unit_text = await locator.first.evaluate(ELEMENT_VALUE, spec.unit_from)
    if spec.attribute:
        return await locator.first.get_attribute(spec.attribute, timeout=1000) or "", unit_text
    return str(text), unit_text
