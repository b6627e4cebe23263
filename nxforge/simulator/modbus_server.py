"""The simulator's Modbus TCP face: every device is a panel meter on its own port (pymodbus server).

Each device answers with unit id 1 and the register maps of two common meters, both computed
at request time from the device's one true counter (the same one its web page shows):

* Schneider PowerLogic PM5xxx "Active Energy Delivered (Into Load)": holding registers
  3204-3207 (0-based address 3203), INT64, Wh, high word first. "Not available" is
  0x8000_0000_0000_0000 (-2**63).
* Eastron SDM630 "Total import kWh": input registers 30073-30074 (address 0x0048), FLOAT32, kWh,
  high word first; and "Total kWh" at address 0x0156 (342).

Besides, one port is an RS-485 bus behind a serial-to-Ethernet converter in transparent mode: RTU
frames over TCP, the first 247 devices as units 1 to 247 (``rtu_units``), the same registers.

Faults: ``down`` and ``slow`` hold the answer back (the client times out), ``garbled`` and
``sentinel`` answer NaN (float) or the "not available" marker (integer).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING

from pymodbus import FramerType
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

if TYPE_CHECKING:
    from nxforge.simulator.devices import DeviceRuntime

log = logging.getLogger(__name__)

UNIT_ID = 1
RTU_UNITS = 247  # the highest address a Modbus RTU bus allows
PM5XXX_ENERGY_WH = 3203  # holding, INT64 Wh
SDM630_IMPORT_KWH = 0x0048  # input, FLOAT32 kWh
SDM630_TOTAL_KWH = 0x0156  # input, FLOAT32 kWh
INT64_NOT_AVAILABLE = -(2**63)
HOLDING_FC, INPUT_FC = (3,), (4,)
_TO_REGISTERS = AsyncModbusTcpClient.convert_to_registers
_TYPE = AsyncModbusTcpClient.DATATYPE


def holding_registers(kwh: float | None) -> dict[int, int]:
    """PM5xxx registers by address: the counter in whole Wh, or "not available"."""
    wh = INT64_NOT_AVAILABLE if kwh is None else round(kwh * 1000)
    return dict(enumerate(_TO_REGISTERS(wh, _TYPE.INT64), start=PM5XXX_ENERGY_WH))


def input_registers(kwh: float | None) -> dict[int, int]:
    """SDM630 registers by address: import and total kWh as float32 (NaN when unavailable)."""
    value = math.nan if kwh is None else kwh
    words = _TO_REGISTERS(value, _TYPE.FLOAT32)
    return {**dict(enumerate(words, start=SDM630_IMPORT_KWH)), **dict(enumerate(words, start=SDM630_TOTAL_KWH))}


class ModbusFace:
    """One pymodbus TCP server per device, all on the simulator's protocol loop."""

    def __init__(self, host: str, base_port: int = 0, rtu_port: int = 0) -> None:
        self.host = host
        self.base_port = base_port  # 0: any free port per device; else device n (0-based) on base_port + n
        self.ports: dict[str, int] = {}
        self.rtu_port = rtu_port  # the RTU bus (0: any free port until started)
        self.rtu_units: dict[str, int] = {}
        self._servers: list[ModbusTcpServer] = []
        self._held: set[asyncio.Task[object]] = set()

    async def start(self, runtimes: list[DeviceRuntime]) -> None:
        """Bind one port per device and serve (runs on the protocol loop)."""
        for index, runtime in enumerate(runtimes):
            port = self.base_port + index if self.base_port else 0
            server = ModbusTcpServer(_device(runtime, self._held), address=(self.host, port))
            await server.serve_forever(background=True)
            self._servers.append(server)
            self.ports[runtime.spec.id] = _bound_port(server)
        self.rtu_units = {runtime.spec.id: unit for unit, runtime in enumerate(runtimes[:RTU_UNITS], start=1)}
        bus = ModbusTcpServer([_device(runtime, self._held, unit) for unit, runtime in enumerate(runtimes[:RTU_UNITS],
                                                                                                 start=1)],
                              framer=FramerType.RTU, address=(self.host, self.rtu_port))
        await bus.serve_forever(background=True)
        self._servers.append(bus)
        self.rtu_port = _bound_port(bus)

    async def stop(self) -> None:
        """Drop held answers and close every server."""
        for task in list(self._held):
            task.cancel()
        await asyncio.gather(*self._held, return_exceptions=True)
        for server in self._servers:
            await server.shutdown()
        self._servers = []


def _bound_port(server: ModbusTcpServer) -> int:
    return int(server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]


def _device(runtime: DeviceRuntime, held: set[asyncio.Task[object]], unit: int = UNIT_ID) -> SimDevice:
    holding = [SimData(PM5XXX_ENERGY_WH, count=4, datatype=DataType.REGISTERS)]
    inputs = [SimData(SDM630_IMPORT_KWH, count=2, datatype=DataType.REGISTERS),
              SimData(SDM630_TOTAL_KWH, count=2, datatype=DataType.REGISTERS)]
    bits = [SimData(0, values=False, datatype=DataType.BITS)]  # pymodbus wants all four tables
    return SimDevice(unit, simdata=(bits, list(bits), holding, inputs), action=_action(runtime, held))


def _action(runtime: DeviceRuntime, held: set[asyncio.Task[object]]
            ) -> Callable[..., Coroutine[None, None, ExcCodes | None]]:
    async def fill(function_code: int, start_address: int, address: int, count: int,
                   registers: list[int], set_values: object) -> ExcCodes | None:
        """Write the live counter into the block before pymodbus answers (or hold the answer)."""
        if runtime.fault("down") is not None:
            await _hold(held, 600.0)
        slow = runtime.fault("slow")
        if slow is not None:
            await _hold(held, float(slow["delay"]))
        kwh = runtime.shown_kwh()
        by_address = holding_registers(kwh) if function_code in HOLDING_FC else input_registers(kwh)
        for register, word in by_address.items():
            offset = register - start_address
            if 0 <= offset < len(registers):
                registers[offset] = word
        return None

    return fill


async def _hold(held: set[asyncio.Task[object]], seconds: float) -> None:
    """Wait like a device that does not answer; ``stop`` cancels the wait (no late answer)."""
    task = asyncio.current_task()
    assert task is not None
    held.add(task)
    try:
        await asyncio.sleep(seconds)
    finally:
        held.discard(task)
