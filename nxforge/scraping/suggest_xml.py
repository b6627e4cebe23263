"""Suggest for XML documents: energy-looking leaf elements as XPath selectors.

Devices that answer XML (status.xml, cgi-bin/meter.xml) often write the unit in an attribute
(``<energy unit="Wh">``); the suggestion then says ``unit_from: "@unit"`` so the read converts.
The document is the one ``Document`` parsed (namespaces dropped), so ``//energy`` is the
selector a person would write, and the one the engines read back.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .errors import ScrapeFailure
from .numbers import convert, parse_quantity
from .result import Suggestion
from .suggest import BOOST_WORDS, ENERGY_WORDS, NUMBER_REGEX, PENALTY_WORDS
from .units import UNITS, canonical_unit, is_energy_unit

_KEY_ATTRIBUTES = ("id", "name", "type", "label", "index")


def suggest_xml(root: Any, limit: int = 10) -> list[Suggestion]:
    """Energy-looking numbers in an XML tree (``Document.lxml_root``), best first."""
    found: list[tuple[float, int, Suggestion]] = []
    for order, element in enumerate(root.iter()):
        if not isinstance(element.tag, str) or len(element) > 0:
            continue
        text = " ".join("".join(element.itertext()).split())
        if not text or len(text) > 60 or not any(ch.isdigit() for ch in text):
            continue
        try:
            quantity = parse_quantity(text)
        except ScrapeFailure:
            continue
        unit_from, unit = None, quantity.unit
        if unit is None:
            unit_from, unit = _unit_attribute(element)
        context = _context(element)
        if unit is not None and not is_energy_unit(unit):
            continue
        score = 3.0 if unit else 2.0 if ENERGY_WORDS.search(context) else None
        if score is None:
            continue
        if unit is None:
            lowered = context.lower()
            unit = "MWh" if "mwh" in lowered else "Wh" if "wh" in lowered.split() and "kwh" not in lowered else "kWh"
        score += 1.0 if BOOST_WORDS.search(context) else 0.0
        score -= 2.0 if PENALTY_WORDS.search(context) else 0.0
        score += 0.5 if ENERGY_WORDS.search(context) else 0.0
        suggestion = Suggestion(
            selector=xpath_for(root, element), regex=NUMBER_REGEX, text=text,
            value=convert(quantity.value, unit, "kWh"), unit="kWh", label=element.tag,
            score=round(score, 2), unit_from=unit_from,
        )
        found.append((score, order, suggestion))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [suggestion for _, _, suggestion in found[:limit]]


def _unit_attribute(element: Any) -> tuple[str | None, str | None]:
    """(``@name``, unit) of the first attribute whose value is a unit (``unit="Wh"``)."""
    for name, value in element.attrib.items():
        if str(value).strip().lower() in UNITS:
            return f"@{name}", canonical_unit(str(value))
    return None, None


def _context(element: Any) -> str:
    """The words around a value: its tag, its attributes, its parent's tag and attributes."""
    words = [element.tag, *map(str, element.attrib.values())]
    parent = element.getparent()
    if parent is not None:
        words += [parent.tag, *map(str, parent.attrib.values())]
    return " ".join(str(w).replace("_", " ").replace("-", " ") for w in words)


def xpath_for(root: Any, element: Any) -> str:
    """The shortest of ``//tag``, ``//parent/tag``, a key attribute of the parent, else the full path."""
    tag = element.tag
    parent = element.getparent()
    candidates = [f"//{tag}"]
    if parent is not None:
        candidates.append(f"//{parent.tag}/{tag}")
        for name in _KEY_ATTRIBUTES:
            value = parent.get(name)
            if value is not None and "'" not in value:
                candidates.append(f"//{parent.tag}[@{name}='{value}']/{tag}")
    for name in _KEY_ATTRIBUTES:
        value = element.get(name)
        if value is not None and "'" not in value:
            candidates.append(f"//{tag}[@{name}='{value}']")
    for candidate in candidates:
        try:
            matches = root.xpath(candidate)
        except etree.XPathError:
            continue
        if len(matches) == 1 and matches[0] is element:
            return candidate
    return str(root.getroottree().getpath(element))
