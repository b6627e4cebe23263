"""What the HTTP server and the control API need of a simulator, so they never import the Simulator itself.

The Simulator starts the server; the server serves the Simulator. A Protocol here breaks that
import circle (checked by import-linter's acyclic contract) without changing either side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from nxforge.simulator.clock import SimClock
from nxforge.simulator.devices import DeviceRuntime


class SimulatorView(Protocol):
    """The simulator as its web faces see it: the clock and the devices by id."""

    clock: SimClock

    def device_ids(self) -> list[str]:
        """Every device id, in fleet order."""
        ...

    def device(self, device_id: str) -> DeviceRuntime:
        """The device with that id (KeyError if none)."""
        ...

    def runtime_or_none(self, device_id: str) -> DeviceRuntime | None:
        """The device with that id, or None."""
        ...

    def truth(self, device_id: str, at: datetime | None = None) -> dict[str, Any]:
        """The device's true counters at ``at`` (now by default), for tests and the control API."""
        ...

    def device_list(self) -> list[dict[str, Any]]:
        """One summary per device, for the index page and the control API."""
        ...
