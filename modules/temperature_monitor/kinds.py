"""What each sensor kind is called on screen and in which unit, decided once for every page and chart."""

from __future__ import annotations

KIND_LABELS = {
    "inlet": "Inlet temperature",
    "exhaust": "Exhaust temperature",
    "cpu": "CPU temperature",
    "ambient": "Ambient temperature",
    "humidity": "Humidity",
}
"""The kinds of the sensor YAML (``config.Kind``), as people name them."""
LEVEL_STATUS = {"ok": "ok", "warning": "warning", "critical": "alarm", "unknown": "unknown"}
"""A sensor's alert level as the sdk's status words, so temperatures take the colours the Live page uses."""


def kind_label(kind: str) -> str:
    """``Inlet temperature`` for ``inlet``; an unknown kind as typed."""
    return KIND_LABELS.get(kind, kind)


def measure(kind: str) -> str:
    """What a kind measures: ``humidity`` or ``temperature`` (the y axis a sensor is drawn against)."""
    return "humidity" if kind == "humidity" else "temperature"


def shown_unit(kind: str, unit: str | None = None) -> str:
    """The unit a kind's values are shown in: ``°C``, or ``%RH`` for relative humidity read as ``%``."""
    if kind == "humidity" and unit in (None, "", "%", "%RH"):
        return "%RH"
    return unit or "°C"


def level_status(level: str | None) -> str:
    """The sdk status word of a level (``critical`` is the ``alarm`` colour); ``unknown`` when never read."""
    return LEVEL_STATUS.get(level or "unknown", "unknown")
