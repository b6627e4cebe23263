"""Durations as people write them in YAML (``30s``, ``15m``, ``2h``, ``1d``), in one place."""

from __future__ import annotations

import re

DURATION = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``15m``, ``30s``, ``2h``, ``1d`` or a bare number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = DURATION.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 15m, 2h or 1d")
    return float(match["number"]) * UNIT_SECONDS[match["unit"]]
