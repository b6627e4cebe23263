"""Find elements that look like an energy reading and propose a robust selector and regex.

Ops use it from the Test button when a selector broke or a new meter model arrives; the
engine also uses it to say "elements that look like energy: ..." when a selector misses.
Ranking: the unit written in the element's text (or right after it, or in a ``unit``
attribute) counts most, then an energy label next to it (row header, label, previous sibling,
id/class), then words like "total" or "active". An element whose digits are split across child
elements (``<span>12,543</span><span>.5</span>``) is judged by its joined text, and its pieces are
not proposed. Open shadow roots (written as declarative ``<template shadowrootmode>`` in the page
source the browser engine keeps) are searched too, with selectors that work inside their root.
XML documents are ``suggest_xml``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .document import lexbor_unit_text, shadow_roots_of
from .errors import ScrapeFailure
from .numbers import NUMBER_PATTERN, UNIT_PATTERN, convert, parse_quantity
from .result import Suggestion
from .units import UNITS, canonical_unit, is_energy_unit

ENERGY_REGEX = r"([\d.,\s']+)\s*(MWh|kWh|Wh)"
NUMBER_REGEX = r"(\d[\d.,\s']*)"
ENERGY_WORDS = re.compile(
    r"energy|energie|énergie|kwh|mwh|\bwh\b|consumption|verbrauch|consommation|zähler|counter|meter", re.I
)
BOOST_WORDS = re.compile(r"total|cumul|import|active|aktiv|lifetime|accumulated|since", re.I)
PENALTY_WORDS = re.compile(r"reactive|kvarh|varh|apparent|kvah|export|today|daily|month|yesterday|peak", re.I)
_UNSTABLE_CLASS = re.compile(r"\d{3,}|^(active|selected|hover|focus|ng-|css-|sc-|js-)", re.I)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "meta", "option"})
_CSS_IDENT = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")
_NUMBER = re.compile(NUMBER_PATTERN)
_LEADING_UNIT = re.compile(rf"^\W*({UNIT_PATTERN})(?![A-Za-z])", re.IGNORECASE)
UNIT_ATTRIBUTES = ("unit", "units", "data-unit", "data-units", "uom")


@dataclass
class _Candidate:
    node: LexborNode
    text: str
    value_kwh: float
    unit: str
    label: str
    score: float
    order: int
    unit_from: str | None = None
    joined: bool = False


def suggest_html(html: str, limit: int = 10) -> list[Suggestion]:
    """Energy-looking elements of an HTML page (its open shadow roots included), best first."""
    tree = LexborHTMLParser(html)
    roots = [tree, *(shadow_roots_of(tree) if "<template" in html else [])]
    ranked: list[tuple[LexborHTMLParser, _Candidate]] = []
    for root in roots:
        found = list(_candidates(root))
        ranked += [(root, c) for c in _without_pieces(found)]
    ranked.sort(key=lambda rc: (-rc[1].score, roots.index(rc[0]), rc[1].order))
    suggestions: list[Suggestion] = []
    seen: set[str] = set()
    for root, cand in ranked:
        selector = robust_selector(root, cand.node)
        if root is not tree:
            selector = selector.removeprefix("body > ")
            if any(r.css_first(selector) is not None for r in roots[: roots.index(root)]):
                continue  # an earlier root has a match: the engines would read that one
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
                unit_from=cand.unit_from,
            )
        )
        if len(suggestions) >= limit:
            break
    return suggestions


def _without_pieces(candidates: list[_Candidate]) -> list[_Candidate]:
    """Drop the pieces (``<span>12,543</span>``) of an element proposed for its joined text."""
    joined = {c.node.mem_id for c in candidates if c.joined}
    if not joined:
        return candidates
    kept = []
    for cand in candidates:
        parent = cand.node.parent
        while parent is not None and parent.mem_id not in joined:
            parent = parent.parent
        if parent is None:
            kept.append(cand)
    return kept


def suggest_json(data: Any, limit: int = 10) -> list[Suggestion]:
    """Energy-looking numbers in a JSON document, as JSONPath selectors."""
    found: list[Suggestion] = []
    for path, key, value in _walk_json(data, "$"):
        words = key.lower()
        if not ENERGY_WORDS.search(words) or isinstance(value, bool):
            continue
        unit = "MWh" if "mwh" in words else "kWh" if "kwh" in words else "Wh" if "wh" in words else "kWh"
        try:
            number = float(value) if isinstance(value, int | float) else parse_quantity(str(value)).value
        except (ScrapeFailure, ValueError):
            continue
        score = 2.0 + (1.0 if BOOST_WORDS.search(words) else 0.0) - (2.0 if PENALTY_WORDS.search(words) else 0.0)
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
        joined = False
        if not any(ch.isdigit() for ch in _own_text(node)) and node.tag != "input":
            joined = _number_split_across_children(node, text)
            if not joined:
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
        unit_from, beside = (None, None) if quantity.unit else _unit_beside(node)
        if beside is not None and not is_energy_unit(beside):
            continue
        if quantity.unit or beside:
            score, unit = 3.0, quantity.unit or beside or "kWh"
        elif ENERGY_WORDS.search(context):
            score = 2.0
            unit = "Wh" if re.search(r"\bWh\b", context) and "kwh" not in context.lower() else "kWh"
            unit = "MWh" if "mwh" in context.lower() else unit
        else:
            continue
        score += 1.0 if BOOST_WORDS.search(context) else 0.0
        score -= 2.0 if PENALTY_WORDS.search(context) else 0.0
        score += 0.5 if ENERGY_WORDS.search(context) else 0.0
        score += 0.3 if node.attributes.get("id") else 0.0
        score -= 0.1 * max(0, len(text) - 20) / 10
        yield _Candidate(node, text, convert(quantity.value, unit, "kWh"), unit, label, score, order,
                         unit_from, joined)


def _number_split_across_children(node: LexborNode, text: str) -> bool:
    """True when the element's first number is not whole inside any one child (``<b>12,543</b><i>.5</i>``)."""
    match = _NUMBER.search(text)
    if match is None:
        return False
    number = match.group(0)
    children = [child for child in node.iter(include_text=False)]
    return len(children) > 1 and all(number not in " ".join(child.text(deep=True).split()) for child in children)


def _unit_beside(node: LexborNode) -> tuple[str | None, str | None]:
    """(``unit_from``, unit) when a unit is written in an attribute or right after the element."""
    for name in UNIT_ATTRIBUTES:
        value = (node.attributes.get(name) or "").strip()
        if value and value.lower() in UNITS:
            return f"@{name}", canonical_unit(value)
    after = lexbor_unit_text(node, "next") or ""
    match = _LEADING_UNIT.match(after)
    if match is not None and len(after) <= 40:
        return "next", canonical_unit(match.group(1))
    return None, None


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
