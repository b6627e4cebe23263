"""From the text (or JSON number) a selector found to a ``ReadValue``: regex, parse, unit, scale.

Shared by both engines so that a config reads the same number whichever engine runs it. The
unit is the one written in the text, else the one ``unit_from`` finds beside it (an attribute,
the next cell), else the declared one. Conversion and scale are decimal arithmetic: the value
stored has the digits the device showed, never binary noise such as 333444.43700000003.
"""

from __future__ import annotations

import re

from .config import ValueSpec
from .errors import NoValueError, ScrapeFailure
from .numbers import UNIT_PATTERN, as_shown, is_sentinel, parse_number, parse_reading
from .result import ReadValue
from .units import canonical_unit, is_energy_unit

_UNIT_WORDS = re.compile(rf"\s*\b(?:{UNIT_PATTERN})\s*$", re.IGNORECASE)
_LABEL = re.compile(r"^[^\d:=]*[:=]")  # "Energy:" in "Energy: --- kWh"
_LEADING_UNIT = re.compile(rf"^\W*({UNIT_PATTERN})(?![A-Za-z])", re.IGNORECASE)


def normalize_text(text: str) -> str:
    """Collapse runs of whitespace (incl. no-break spaces) so messages and regexes see one line."""
    return " ".join(text.replace("\u00a0", " ").split())


def looks_like_no_value(text: str) -> bool:
    """A placeholder, possibly with its unit still printed next to it (``--- kWh``)."""
    without_unit = _UNIT_WORDS.sub("", text)
    without_label = _LABEL.sub("", without_unit)
    return is_sentinel(text) or is_sentinel(without_unit) or is_sentinel(without_label)


def unit_beside(name: str, spec: ValueSpec, unit_text: str | None) -> str | None:
    """The unit ``unit_from`` points at (``Wh`` in ``unit="Wh"`` or in the next cell), or None when absent."""
    if spec.unit_from is None or unit_text is None or not unit_text.strip():
        return None
    match = _LEADING_UNIT.match(normalize_text(unit_text))
    if match is None:
        where = f"attribute `{spec.unit_from[1:]}`" if spec.unit_from.startswith("@") else "the text after it"
        raise ScrapeFailure(
            "pattern_no_match",
            f"value `{name}`: unit_from {spec.unit_from!r}: {where} says `{normalize_text(unit_text)[:40]}`, "
            "not a unit (Wh, kWh, MWh, W, kW, V, A ...)",
            hint="point unit_from at the unit, or remove it and declare `unit`")
    return canonical_unit(match.group(1))


def interpret_text(name: str, spec: ValueSpec, text: str, unit_text: str | None = None) -> ReadValue:
    """Apply the value's regex and number rules to the text found on the page.

    ``unit_text``: what ``unit_from`` points at, used when the text itself shows no unit.
    """
    raw = normalize_text(text)
    if looks_like_no_value(raw):
        raise NoValueError(raw)
    if spec.regex:
        pattern = re.compile(spec.regex)
        match = pattern.search(raw)
        if match is None:
            raise ScrapeFailure(
                "pattern_no_match",
                f"value `{name}`: the text `{raw[:120]}` found by `{spec.selector}` "
                f"does not match the regex `{spec.regex}`",
                hint="the page layout or units may have changed; try Suggest for a new selector and regex",
            )
        groups = pattern.groupindex
        number_text = match.group("number") if "number" in groups else match.group(1)
        if "unit" in groups:
            unit_text = match.group("unit")
        else:
            unit_text = match.group(2) if pattern.groups >= 2 and "number" not in groups else None
        number = parse_number(number_text or "", spec.decimal)
        unit = canonical_unit(unit_text) if unit_text else None
    else:
        quantity = parse_reading(raw, spec.decimal)
        number, unit = quantity.value, quantity.unit
    if unit is None:
        unit = unit_beside(name, spec, unit_text)
        raw = f"{raw} {unit}" if unit else raw
    return finish(name, spec, number, unit, raw)


def interpret_json(name: str, spec: ValueSpec, found: object) -> ReadValue:
    """A JSONPath match: numbers are taken as they are, strings go through the text rules."""
    if found is None:
        raise NoValueError("null")
    if isinstance(found, bool):
        raise ScrapeFailure("not_a_number", f"value `{name}`: `{spec.selector}` is a boolean ({found})")
    if isinstance(found, int | float):
        if found == -1:
            raise NoValueError(str(found))
        return finish(name, spec, float(found), None, str(found))
    if isinstance(found, str):
        return interpret_text(name, spec, found)
    raise ScrapeFailure(
        "not_a_number",
        f"value `{name}`: `{spec.selector}` points at a JSON {type(found).__name__}, not a number",
        hint="point the JSONPath at the number itself",
    )


def finish(name: str, spec: ValueSpec, number: float, text_unit: str | None, raw: str) -> ReadValue:
    """Convert to the declared unit, scale (in decimal), and refuse values no meter would show."""
    value = as_shown(number, text_unit, spec.unit, spec.scale)
    unit = spec.unit or text_unit or ""
    if is_energy_unit(unit) and value < 0:
        raise ScrapeFailure(
            "implausible", f"value `{name}`: an energy counter cannot be negative ({raw[:80]})"
        )
    if spec.min is not None and value < spec.min:
        raise ScrapeFailure("implausible", f"value `{name}` = {value:g} {unit} is below the minimum {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ScrapeFailure("implausible", f"value `{name}` = {value:g} {unit} is above the maximum {spec.max:g}",
                            hint="no meter shows that: a register read with the wrong type or word_order (Modbus), "
                            "the wrong OID or scale, or the wrong element of the page")
    counter = spec.counter.info(unit, spec.scale) if spec.counter is not None else None  # wrap, ceiling, reset
    return ReadValue(value=value, unit=unit, raw_text=raw[:200], counter=counter)
