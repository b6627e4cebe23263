"""Meter simulator: imitations of real PDU/meter web UIs on 127.0.0.1 with a known truth.

See ``docs/simulator.md`` for every URL, field and format each style serves.
"""

from nxforge.simulator.clock import SimClock
from nxforge.simulator.devices import FAULTS, SENSOR_STYLES, STYLES, DeviceRuntime, DeviceSpec, Event
from nxforge.simulator.fleet import make_fleet
from nxforge.simulator.simulator import Simulator
from nxforge.simulator.thermal import readings

__all__ = [
    "FAULTS",
    "SENSOR_STYLES",
    "STYLES",
    "DeviceRuntime",
    "DeviceSpec",
    "Event",
    "SimClock",
    "Simulator",
    "make_fleet",
    "readings",
]
