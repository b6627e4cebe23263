"""From a raw register or OID value to a ``ReadValue``: unavailable markers first, then the web rules.

Shared by the snmp and modbus engines so both apply a preset's counter semantics the same way:
the vendor's "no reading" markers are refused on the raw value, then ``values.finish`` converts
from the register's unit, scales in decimal (125435 x 0.1 is 12543.5, not 12543.500000000002),
checks min/max and negative energy, and attaches the counter semantics, as for web pages.
"""

from __future__ import annotations

import math

from .config import ValueSpec
from .counter_semantics import register_unit
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
    return finish(name, spec, raw, source_unit, raw_text)
