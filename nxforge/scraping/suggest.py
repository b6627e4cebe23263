"""Find elements that look like an energy reading and propose a robust selector and regex.

Ops use it from the Test button when a selector broke or a new meter model arrives; the
engine also uses it to say "elements that look like energy: ..." when a selector misses.
Ranking: the unit written in the element's own text counts most, then an energy label next to
it (row header, label, previous sibling, id/class), then words like "total" or "active".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .errors import ScrapeFailure
from .numbers import convert, parse_quantity
from .result import Suggestion
from .units import is_energy_unit

ENERGY_REGEX = r"([\d.,\s']+)\s*(MWh|kWh|Wh)"
NUMBER_REGEX = r"(\d[\d.,\s']*)"
_ENERGY_WORDS = re.compile(
    r"energy|energie|énergie|kwh|mwh|\bwh\b|consumption|verbrauch|consommation|zähler|counter|meter", re.I
)
_BOOST_WORDS = re.compile(r"total|cumul|import|active|aktiv|lifetime|accumulated|since", re.I)
_PENALTY_WORDS = re.compile(r"reactive|kvarh|varh|apparent|kvah|export|today|daily|month|yesterday|peak", re.I)
_UNSTABLE_CLASS = re.compile(r"\d{3,}|^(active|selected|hover|focus|ng-|css-|sc-|js-)", re.I)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "meta", "option"})
_CSS_IDENT = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass
class _Candidate:
    node: LexborNode
    text: str
    value_kwh: float
    unit: str
    label: str
    score: float
    order: int


def suggest_html(html: str, limit: int = 10) -> list[Suggestion]:
    """Energy-looking elements of an HTML page, best first."""
    tree = LexborHTMLParser(html)
    candidates = list(_candidates(tree))
    candidates.sort(key=lambda c: (-c.score, c.order))
    suggestions: list[Suggestion] = []
    seen: set[str] = set()
    for cand in candidates:
        selector = robust_selector(tree, cand.node)
        if selector in seen:
            continue
        seen.add(selector)
        has_unit = is_energy_unit(_unit_of(cand.text))
        suggestions.append(
            Suggestion(
                selector=selector,
                regex=ENERGY_REGEX if has_unit else NUMBER_REGEX,
                text=cand.text,
                value=cand.value_kwh,
                unit="kWh",
                label=cand.label,
                score=round(cand.score, 2),
            )
        )
        if len(suggestions) >= limit:
            break
    return suggestions


def suggest_json(data: Any, limit: int = 10) -> list[Suggestion]:
    """Energy-looking numbers in a JSON document, as JSONPath selectors."""
    found: list[Suggestion] = []
    for path, key, value in _walk_json(data, "$"):
        words = key.lower()
        if not _ENERGY_WORDS.search(words) or isinstance(value, bool):
            continue
        unit = "MWh" if "mwh" in words else "kWh" if "kwh" in words else "Wh" if "wh" in words else "kWh"
        try:
            number = float(value) if isinstance(value, int | float) else parse_quantity(str(value)).value
        except (ScrapeFailure, ValueError):
            continue
        score = 2.0 + (1.0 if _BOOST_WORDS.search(words) else 0.0) - (2.0 if _PENALTY_WORDS.search(words) else 0.0)
        found.append(
            Suggestion(selector=path, regex=NUMBER_REGEX, text=str(value), value=convert(number, unit, "kWh"),
                       unit="kWh", label=key, score=score)
        )
    found.sort(key=lambda s: -s.score)
    return found[:limit]


def _walk_json(data: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            sub = f"{path}.{key}" if _CSS_IDENT.match(str(key)) else f"{path}['{key}']"
            if isinstance(value, dict | list):
                yield from _walk_json(value, sub)
            else:
                yield sub, str(key), value
    elif isinstance(data, list):
        for index, value in enumerate(data[:50]):
            yield from _walk_json(value, f"{path}[{index}]")


def _unit_of(text: str) -> str | None:
    try:
        return parse_quantity(text).unit
    except ScrapeFailure:
        return None


def _candidates(tree: LexborHTMLParser) -> Iterator[_Candidate]:
    body = tree.body
    if body is None:
        return
    for order, node in enumerate(body.traverse(include_text=False)):
        if node.tag in _SKIP_TAGS or _inside_skipped(node):
            continue
        text = " ".join((node.attributes.get("value") or "" if node.tag == "input" else node.text(deep=True)).split())
        if not text or len(text) > 60 or not any(ch.isdigit() for ch in text):
            continue
        if not any(ch.isdigit() for ch in _own_text(node)) and node.tag != "input":
            continue  # the digits belong to a child, which is the more precise target
        if _foreign_unit(text):
            continue
        try:
            quantity = parse_quantity(text)
        except ScrapeFailure:
            continue
        label = _label(node)
        context = f"{label} {_attr_words(node)}"
        if quantity.unit and not is_energy_unit(quantity.unit):
            continue
        if quantity.unit:
            score, unit = 3.0, quantity.unit
        elif _ENERGY_WORDS.search(context):
            score = 2.0
            unit = "Wh" if re.search(r"\bWh\b", context) and "kwh" not in context.lower() else "kWh"
            unit = "MWh" if "mwh" in context.lower() else unit
        else:
            continue
        score += 1.0 if _BOOST_WORDS.search(context) else 0.0
        score -= 2.0 if _PENALTY_WORDS.search(context) else 0.0
        score += 0.5 if _ENERGY_WORDS.search(context) else 0.0
        score += 0.3 if node.attributes.get("id") else 0.0
        score -= 0.1 * max(0, len(text) - 20) / 10
        yield _Candidate(node, text, convert(quantity.value, unit, "kWh"), unit, label, score, order)


def _inside_skipped(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _SKIP_TAGS:
            return True
        parent = parent.parent
    return False


def _own_text(node: LexborNode) -> str:
    """Text of the element's direct text children only (not of nested elements)."""
    return node.text(deep=False)


_WORD_AFTER_NUMBER = re.compile(r"\d\s*([A-Za-z]+)")


def _foreign_unit(text: str) -> bool:
    """True when the number is followed by a unit that is not energy (kW, V, kvarh ...)."""
    match = _WORD_AFTER_NUMBER.search(text)
    return match is not None and not is_energy_unit(match.group(1)) and len(match.group(1)) <= 5


def _attr_words(node: LexborNode) -> str:
    attrs = node.attributes
    parts = [attrs.get(name) or "" for name in ("id", "class", "name", "title", "data-label", "aria-label")]
    parent = node.parent
    if parent is not None:
        parts += [parent.attributes.get("id") or "", parent.attributes.get("class") or ""]
    return " ".join(re.sub(r"[-_]", " ", p) for p in parts if p)


def _label(node: LexborNode) -> str:
    """The words a person would read next to the value: row header, label, previous sibling."""
    own_id = node.attributes.get("id")
    if own_id:
        root = node
        while root.parent is not None:
            root = root.parent
        label = root.css_first(f'label[for="{own_id}"]') if _CSS_IDENT.match(own_id) else None
        if label is not None:
            return _short(label.text(deep=True))
    cursor: LexborNode | None = node
    for _ in range(3):
        if cursor is None:
            break
        previous = cursor.prev
        while previous is not None and not (previous.is_element_node and previous.text(deep=True).strip()):
            if previous.is_text_node and previous.text().strip():
                return _short(previous.text())
            previous = previous.prev
        if previous is not None:
            return _short(previous.text(deep=True))
        cursor = cursor.parent
    return ""


def _short(text: str) -> str:
    return " ".join(text.split())[:60].rstrip(":")


def robust_selector(tree: LexborHTMLParser, node: LexborNode) -> str:
    """A selector that matches ``node`` first: its id, else tag.class parts up to an id'd ancestor."""
    own_id = node.attributes.get("id")
    if own_id and _unique(tree, _id_selector(own_id), node):
        return _id_selector(own_id)
    parts: list[str] = []
    cursor: LexborNode | None = node
    while cursor is not None and cursor.tag not in ("html", "body", None):
        cursor_id = cursor.attributes.get("id") if cursor is not node else None
        if cursor_id:
            candidate = f"{_id_selector(cursor_id)} {' '.join(parts[::-1])}".strip()
            if _unique(tree, candidate, node):
                return candidate
        parts.append(_part(cursor))
        candidate = " ".join(parts[::-1])
        if _unique(tree, candidate, node):
            anchor = _id_ancestor(cursor)
            anchored = f"{_id_selector(anchor)} {candidate}" if anchor else ""
            return anchored if anchored and _unique(tree, anchored, node) else candidate
        cursor = cursor.parent
    return _nth_path(tree, node)


def _id_ancestor(node: LexborNode, levels: int = 4) -> str | None:
    """The id of the nearest ancestor that has one, so a selector survives unrelated page changes."""
    cursor = node.parent
    for _ in range(levels):
        if cursor is None or cursor.tag in ("html", "body"):
            return None
        if cursor.attributes.get("id"):
            return cursor.attributes.get("id")
        cursor = cursor.parent
    return None


def _part(node: LexborNode) -> str:
    classes = [c for c in (node.attributes.get("class") or "").split() if not _UNSTABLE_CLASS.search(c)]
    classes = [c for c in classes if _CSS_IDENT.match(c)][:2]
    return (node.tag or "*") + "".join(f".{c}" for c in classes)


def _id_selector(value: str) -> str:
    return f"#{value}" if _CSS_IDENT.match(value) else f'[id="{value}"]'


def _unique(tree: LexborHTMLParser, selector: str, node: LexborNode) -> bool:
    try:
        matches = tree.css(selector)
    except (ValueError, RuntimeError):
        return False
    return len(matches) == 1 and matches[0].mem_id == node.mem_id


def _nth_path(tree: LexborHTMLParser, node: LexborNode) -> str:
    """Last resort: tag.class parts with :nth-of-type only where siblings share the tag."""
    parts: list[str] = []
    cursor: LexborNode | None = node
    while cursor is not None and cursor.tag not in ("html", "body", None):
        position, count, sibling = 1, 0, cursor.parent.child if cursor.parent else None
        while sibling is not None:
            if sibling.is_element_node and sibling.tag == cursor.tag:
                count += 1
                if sibling.mem_id == cursor.mem_id:
                    position = count
            sibling = sibling.next
        part = _part(cursor) + (f":nth-of-type({position})" if count > 1 else "")
        parts.append(part)
        cursor_id = cursor.attributes.get("id") if cursor is not node else None
        candidate = " ".join(parts[::-1])
        if cursor_id:
            candidate = f"{_id_selector(cursor_id)} {' '.join(parts[:-1][::-1])}".strip()
        if _unique(tree, candidate, node):
            return candidate
        cursor = cursor.parent
    return "body > " + " > ".join(parts[::-1])
