"""From a raw register or OID value to a ``ReadValue``: unavailable markers, exact scaling, semantics.

Shared by the snmp and modbus engines so both apply a preset's counter semantics the same way;
the min/max and negative-energy checks are the web engines' own (``values.finish``).
"""

from __future__ import annotations

import math

from .config import ValueSpec
from .counter_semantics import exact_value, register_unit
from .errors import NoValueError, ScrapeFailure
from .numbers import parse_reading
from .result import ReadValue
from .values import finish, looks_like_no_value, normalize_text


def finish_number(name: str, spec: ValueSpec, raw: int | float | str, raw_text: str) -> ReadValue:
    """The value in its declared unit, refused when the vendor's "no reading" marker shows."""
    semantics = spec.counter
    source_unit = register_unit(semantics)
    if isinstance(raw, str):  # an OctetString counter ("12543.5" or "12543.5 kWh"): the web pages' rules
        text = normalize_text(raw)
        if looks_like_no_value(text):
            raise NoValueError(text)
        parsed = parse_reading(text, spec.decimal)
        raw, source_unit = parsed.value, parsed.unit or source_unit
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ScrapeFailure("not_a_number", f"value `{name}`: the meter sent {raw_text} (not a finite number)",
                            hint="the register may not be the energy counter, or the meter is starting up")
    if semantics is not None and semantics.unavailable:
        if semantics.is_unavailable(raw):
            raise NoValueError(raw_text)
    elif raw == -1:
        raise NoValueError(raw_text)
    unit = spec.unit or source_unit
    value = exact_value(raw, source_unit, unit, spec.scale)
    read = finish(name, spec.model_copy(update={"scale": 1.0, "unit": unit}), value, None, raw_text)
    if semantics is None:
        return read
    return read.model_copy(update={"counter": semantics.info(unit, spec.scale)})
