"""The thermal profile of sensor devices: what a BMC or an environmental probe reads now.

Temperatures are a function of the device spec, its faults and the simulated clock, so a test
can say "rack R01 overheats now" (``set_fault("overheat", celsius=45)``), "the value wobbles
around the limit" (``set_fault("wobble", amplitude=0.5, period_s=60)``) and know exactly what
the page shows at each simulated instant.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from nxforge.simulator.devices import DeviceRuntime

#: How far above the inlet each sensor sits: air heats up crossing the server.
OFFSETS_C = {"inlet": 0.0, "exhaust": 12.0, "cpu": 30.0}


def readings(dev: DeviceRuntime) -> dict[str, float]:
    """True values now: ``inlet``, ``exhaust``, ``cpu`` (°C), ``ambient`` (°C) and ``humidity`` (%RH)."""
    overheat = dev.fault("overheat")
    base = float(overheat["celsius"]) if overheat is not None else dev.spec.temperature_c
    wobble = dev.fault("wobble")
    if wobble is not None:
        elapsed = (dev.clock.now() - dev.t0).total_seconds()
        base += float(wobble["amplitude"]) * math.sin(2 * math.pi * elapsed / float(wobble["period_s"]))
    humid = dev.fault("humid")
    values = {name: round(base + offset, 1) for name, offset in OFFSETS_C.items()}
    values["ambient"] = round(base, 1)
    values["humidity"] = round(float(humid["percent"]) if humid is not None else dev.spec.humidity_pct, 1)
    return values


def shown(dev: DeviceRuntime, value: float, fmt: Callable[[float], str]) -> str:
    """A reading as the device prints it, after the ``garbled`` and ``sentinel`` display faults."""
    garbled = dev.fault("garbled")
    if garbled is not None:
        return str(garbled["text"])
    sentinel = dev.fault("sentinel")
    if sentinel is not None:
        return str(sentinel["value"])
    return fmt(value)
