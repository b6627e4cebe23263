"""The units a meter writes: their dimension, their size, their canonical spelling.

Kept apart from ``numbers`` (which raises scrape errors) so that plain models, such as a
preset's counter semantics, can check a unit without importing the error machinery.
"""

from __future__ import annotations

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "wh": ("energy", 1.0), "kwh": ("energy", 1e3), "mwh": ("energy", 1e6),
    "w": ("power", 1.0), "kw": ("power", 1e3), "mw": ("power", 1e6),
    "va": ("apparent power", 1.0), "kva": ("apparent power", 1e3),
    "v": ("voltage", 1.0), "kv": ("voltage", 1e3), "mv": ("voltage", 1e-3),
    "a": ("current", 1.0), "ma": ("current", 1e-3),
    "hz": ("frequency", 1.0), "%": ("ratio", 1.0),
}
_CANONICAL = {"wh": "Wh", "kwh": "kWh", "mwh": "MWh", "w": "W", "kw": "kW", "mw": "MW", "va": "VA",
              "kva": "kVA", "v": "V", "kv": "kV", "mv": "mV", "a": "A", "ma": "mA", "hz": "Hz", "%": "%"}


def canonical_unit(unit: str) -> str:
    """``KWH`` -> ``kWh``; unknown units come back unchanged."""
    return _CANONICAL.get(unit.strip().lower(), unit.strip())


def is_energy_unit(unit: str | None) -> bool:
    """True for Wh, kWh and MWh."""
    return bool(unit) and UNITS.get((unit or "").lower(), ("", 0.0))[0] == "energy"
