"""The ``modbus`` engine: energy registers of panel and branch meters over TCP (pymodbus).

A meter's Modbus TCP server accepts only a few connections (often one or two), so the engine
keeps one connection per host:port and sends one request at a time on it; endpoints on one
gateway (several unit ids behind one address) share that connection. Values are decoded with
pymodbus's own register conversion (type and word order from the config or the preset).

``framing: rtu`` sends RTU frames (unit id, PDU, CRC) instead of Modbus TCP's header: that is
what a serial-to-Ethernet converter in transparent mode forwards to the RS-485 bus of meters
that speak only Modbus RTU. RTU frames carry no transaction id, so a late answer could be taken
for the next request's: the connection is closed after a timeout, as for TCP.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from pymodbus import FramerType
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from .config import ValueSpec
from .context import RunContext
from .errors import ScrapeFailure
from .protocol_config import DEFAULT_MODBUS, REGISTER_WORDS, Framing, RegisterType, Table, WordOrder, parse_register
from .register_values import finish_number
from .result import ReadValue

log = logging.getLogger(__name__)

DEFAULT_PORT = 502
DATATYPES = {name: getattr(AsyncModbusTcpClient.DATATYPE, name.upper()) for name in REGISTER_WORDS}
FRAMERS: dict[Framing, FramerType] = {"tcp": FramerType.SOCKET, "rtu": FramerType.RTU}
# Modbus exception codes worth a specific message (the rest are reported by number).
ILLEGAL_ADDRESS, GATEWAY_PATH, GATEWAY_TARGET = 2, 10, 11


class _Link:
    """One kept connection to a host:port and the lock that keeps requests one at a time."""

    def __init__(self, host: str, port: int, timeout: float, framing: Framing) -> None:
        self.client = AsyncModbusTcpClient(host, port=port, framer=FRAMERS[framing], timeout=timeout, retries=0,
                                           reconnect_delay=0)
        self.framing = framing
        self.lock = asyncio.Lock()


class ModbusReader:
    """Reads the values of Modbus TCP endpoints; one per scraping engine, used on its loop only."""

    def __init__(self) -> None:
        self._links: dict[tuple[str, int, Framing], _Link] = {}

    async def aclose(self) -> None:
        """Close every kept connection."""
        for link in self._links.values():
            link.client.close()
        self._links.clear()

    async def run(self, ctx: RunContext) -> dict[str, ReadValue]:
        """Read every value of ``ctx.config``, one request per value on the host's connection."""
        config = ctx.config
        options = config.modbus or DEFAULT_MODBUS
        host, port = _address(config.url)
        link = self._link(host, port, options.request_timeout_s, options.framing)
        shown: list[str] = []
        values: dict[str, ReadValue] = {}
        async with link.lock:
            try:
                async with asyncio.timeout(ctx.remaining()):
                    await self._connect(link, host, port)
                    ctx.mark("connect")
                    for name, spec in config.values.items():
                        table, address = parse_register(spec.selector)
                        table, kind, order = options.format_for(name, table)
                        registers = await self._read(link, host, port, options.unit_id, table, address, kind)
                        decoded = link.client.convert_from_registers(registers, DATATYPES[kind], word_order=order)
                        shown.append(f"unit {options.unit_id} {table}:{address} {kind}/{order} {registers} = {decoded}"
                                     + (" (RTU framing)" if options.framing == "rtu" else ""))
                        values[name] = _value(name, spec, decoded, kind, order)
            except TimeoutError:
                link.client.close()  # a late answer must not be taken for the next request's
                raise ScrapeFailure("timeout", f"no Modbus answer from {host}:{port} within "
                                    f"timeout_s={config.timeout_s:g}s",
                                    hint=_silent_hint(options.framing)) from None
            finally:
                ctx.snapshot.url = config.url
                ctx.snapshot.source = "\n".join(shown)
        ctx.mark(f"read {len(values)} registers")
        return values

    def _link(self, host: str, port: int, timeout: float, framing: Framing) -> _Link:
        link = self._links.get((host, port, framing))
        if link is None:
            link = self._links[(host, port, framing)] = _Link(host, port, timeout, framing)
        return link

    async def _connect(self, link: _Link, host: str, port: int) -> None:
        if link.client.connected:
            return
        try:
            connected = await link.client.connect()
        except (OSError, ModbusException) as exc:
            raise ScrapeFailure("unreachable", f"cannot connect to {host}:{port}: {exc}",
                                hint="check the address and port (Modbus TCP is 502) and the network path") from exc
        if not connected:
            raise ScrapeFailure("unreachable", f"cannot connect to Modbus TCP at {host}:{port}",
                                hint="check the address and port (Modbus TCP is 502) and that the meter is on")

    async def _read(self, link: _Link, host: str, port: int, unit: int, table: Table, address: int,
                    kind: RegisterType) -> list[int]:
        count = REGISTER_WORDS[kind]
        reader = link.client.read_input_registers if table == "input" else link.client.read_holding_registers
        try:
            response = await reader(address, count=count, device_id=unit)
        except ConnectionException as exc:
            link.client.close()
            raise ScrapeFailure("unreachable", f"the Modbus connection to {host}:{port} dropped: {exc}",
                                hint="the meter may allow one connection at a time; check other pollers") from exc
        except ModbusException as exc:
            link.client.close()
            raise ScrapeFailure("timeout", f"no Modbus answer from {host}:{port} (unit {unit}): {exc}",
                                hint=_silent_hint(link.framing)) from exc
        if response.isError():
            code = getattr(response, "exception_code", None)
            where = f"{table} register {address} ({count} words) of unit {unit} at {host}:{port}"
            if code == ILLEGAL_ADDRESS:
                raise ScrapeFailure("selector_not_found", f"the meter has no {where}",
                                    hint="check the register map: addresses are 0-based (register 3204 is 3203)")
            if code in (GATEWAY_PATH, GATEWAY_TARGET):
                raise ScrapeFailure("timeout", f"the gateway found no answer for unit {unit} at {host}:{port}",
                                    hint="check unit_id and that the meter behind the gateway is on")
            raise ScrapeFailure("step_failed", f"the meter refused to read {where}: Modbus exception {code}")
        return list(response.registers)


def _silent_hint(framing: Framing) -> str:
    if framing == "rtu":
        return ("the meter is off, or the unit id, the converter's serial settings (baud rate, parity) or its mode "
                "are wrong: framing rtu needs the converter in transparent (raw) mode; one that translates to "
                "Modbus TCP itself needs framing tcp")
    return ("the meter is off or busy, or the unit id is wrong (a gateway may stay silent for an unknown unit); a "
            "serial-to-Ethernet converter in transparent mode needs framing: rtu")


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if not parts.hostname:
        raise ScrapeFailure("config", f"no host in {url!r}", hint="write url: modbus://10.0.0.7 or modbus://host:502")
    return parts.hostname, parts.port or DEFAULT_PORT


def _value(name: str, spec: ValueSpec, decoded: object, kind: str, order: WordOrder) -> ReadValue:
    if not isinstance(decoded, int | float) or isinstance(decoded, bool):
        raise ScrapeFailure("not_a_number", f"value `{name}`: the registers decode to {decoded!r} as {kind}")
    return finish_number(name, spec, decoded, f"{decoded!r} ({kind}, {order} word order)")
