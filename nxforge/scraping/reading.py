"""Reading every configured value from a page, and the messages when a selector misses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .config import ScrapeConfig, ValueSpec
from .document import Document
from .errors import ScrapeFailure
from .reset_times import parse_reset_time
from .result import ReadValue, Suggestion
from .suggest import suggest_html, suggest_json
from .suggest_xml import suggest_xml
from .values import interpret_json, interpret_text


def read_values(config: ScrapeConfig, document: Document) -> dict[str, ReadValue]:
    """All values of ``config`` from one fetched document (http engine, JSON in the browser)."""
    values: dict[str, ReadValue] = {}
    for name, spec in config.values.items():
        found, content, unit_text = document.find_with_unit(spec)
        if not found:
            raise selector_not_found(name, spec, document.url, lambda: suggestions_for(document))
        if spec.kind == "jsonpath":
            values[name] = interpret_json(name, spec, content)
        else:
            values[name] = interpret_text(name, spec, str(content), unit_text)
        counter = values[name].counter
        if counter is not None and spec.counter is not None and spec.counter.reset_time is not None:
            at = reset_time(name, spec.counter.reset_time, spec.counter.reset_time_zone, document)
            dated = counter.model_copy(update={"reset_at": at})
            values[name] = values[name].model_copy(update={"counter": dated})
    return values


def reset_time(name: str, selector: str, zone: str | None, document: Document) -> datetime | None:
    """When the document says the value's counter last restarted (e.g. Redfish ``SensorResetTime``).

    None when the device does not say (the counter is then judged by its values alone, as before);
    the forms a time may take, and why one without an offset needs ``zone``: ``reset_times.py``.
    """
    found, content = document.find(ValueSpec.model_validate({"selector": selector}))
    if not found or content is None:
        return None
    raw = content if isinstance(content, int) and not isinstance(content, bool) else str(content)
    return parse_reset_time(name, selector, raw, zone)


def suggestions_for(document: Document, limit: int = 3) -> list[Suggestion]:
    """Energy-looking elements of a document, HTML, XML or JSON."""
    try:
        if document.is_json:
            return suggest_json(document.json(), limit)
        if document.is_xml:
            return suggest_xml(document.lxml_root, limit)
        return suggest_html(document.text, limit)
    except ScrapeFailure:
        return []


def selector_not_found(
    name: str, spec: ValueSpec, url: str, suggestions: Callable[[], list[Suggestion]]
) -> ScrapeFailure:
    """The error for a selector that matched nothing, naming what the page does have."""
    found = suggestions()
    if found:
        listed = ", ".join(f"`{s.selector}` ({s.text})" for s in found)
        tail = f"; elements that look like energy: {listed}: try Suggest"
    else:
        tail = "; nothing on the page looks like an energy reading (wrong page, or login needed?)"
    return ScrapeFailure(
        "selector_not_found",
        f"value `{name}`: the selector `{spec.selector}` matched nothing on {url}{tail}",
        hint="open the evidence page source, or run Suggest from the Test button",
    )
