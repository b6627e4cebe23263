"""SNMP and Modbus TCP for every simulated device, on one asyncio loop in a background thread.

Started on first use (the first ``snmp_url`` or ``modbus_url``), not with the web listeners:
binding two ports per device and building the SNMP engine cost about a second, which the
many web-only tests and benchmarks should not pay.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from nxforge.simulator.modbus_server import ModbusFace
from nxforge.simulator.snmp_agent import SnmpCredentials, SnmpFace

if TYPE_CHECKING:
    from nxforge.simulator.devices import DeviceRuntime

log = logging.getLogger(__name__)


class ProtocolFaces:
    """The SNMP agent and the Modbus servers of a fleet, with their ports by device id."""

    def __init__(self, host: str, runtimes: list[DeviceRuntime], credentials: SnmpCredentials,
                 snmp_port: int = 0, modbus_port: int = 0, modbus_rtu_port: int = 0) -> None:
        """``snmp_port``/``modbus_port``: the first device's port, the next ones counting up (0: any free port);
        ``modbus_rtu_port``: the RTU bus's port (0: any free port)."""
        self.host = host
        self._runtimes = runtimes
        self.snmp = SnmpFace(host, credentials, snmp_port)
        self.modbus = ModbusFace(host, modbus_port, modbus_rtu_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nxforge-sim-protocols", daemon=True)

    def start(self) -> ProtocolFaces:
        """Bind every port; returns when the faces answer."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=120)
        log.info("simulator: SNMP and Modbus TCP for %d devices on %s", len(self._runtimes), self.host)
        return self

    async def _start(self) -> None:
        await self.snmp.start(self._runtimes)
        await self.modbus.start(self._runtimes)

    async def _stop(self) -> None:
        await self.modbus.stop()
        await self.snmp.stop()

    def stop(self) -> None:
        """Close every port and end the loop thread."""
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
