"""The simulator's SNMP agent and Modbus TCP servers, read with plain pysnmp and pymodbus clients."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pysnmp.hlapi.v3arch import asyncio as hlapi

from nxforge.simulator import STYLES, DeviceSpec, Simulator
from nxforge.simulator.modbus_server import PM5XXX_ENERGY_WH, SDM630_IMPORT_KWH
from nxforge.simulator.snmp_objects import DEVICE_ENERGY, OUTLET_ENERGY, OUTLETS, SYS_NAME, outlet_kwh

from .conftest import INITIAL_KWH, POWER_KW, dev_id

APC_DEVICE_ENERGY = DEVICE_ENERGY["apc-rpdu2-snmp"].oid(0)
RARITAN_INLET_ENERGY = DEVICE_ENERGY["raritan-pdu2-snmp"].oid(0)
RARITAN_OUTLET = OUTLET_ENERGY["raritan-pdu2-outlet-snmp"].oid


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


async def snmp_get(sim: Simulator, device_id: str, *oids: tuple[int, ...]) -> dict[tuple[int, ...], Any]:
    snmp = hlapi.SnmpEngine()
    try:
        target = await hlapi.UdpTransportTarget.create(address(sim.snmp_url(device_id)), timeout=1, retries=0)
        indication, status, _, varbinds = await hlapi.get_cmd(
            snmp, hlapi.CommunityData(sim.snmp_credentials.community), target, hlapi.ContextData(),
            *[hlapi.ObjectType(hlapi.ObjectIdentity(".".join(map(str, oid)))) for oid in oids])
        assert not indication and not status, (indication, status)
        return {tuple(name): value for name, value in varbinds}
    finally:
        snmp.close_dispatcher()


async def modbus_registers(sim: Simulator, device_id: str) -> tuple[int, float]:
    host, port = address(sim.modbus_url(device_id))
    client = AsyncModbusTcpClient(host, port=port, timeout=1, retries=0)
    try:
        assert await client.connect()
        holding = await client.read_holding_registers(PM5XXX_ENERGY_WH, count=4, device_id=1)
        inputs = await client.read_input_registers(SDM630_IMPORT_KWH, count=2, device_id=1)
        wh = client.convert_from_registers(holding.registers, client.DATATYPE.INT64)
        kwh = client.convert_from_registers(inputs.registers, client.DATATYPE.FLOAT32)
        assert isinstance(wh, int) and isinstance(kwh, float)
        return wh, kwh
    finally:
        client.close()


def test_every_device_has_its_own_snmp_and_modbus_port(sim: Simulator) -> None:
    snmp_ports = {address(sim.snmp_url(d))[1] for d in sim.device_ids()}
    modbus_ports = {address(sim.modbus_url(d))[1] for d in sim.device_ids()}
    assert len(snmp_ports) == len(modbus_ports) == len(STYLES)
    for device_id in (dev_id("apc-nmc2"), dev_id("plain")):
        found = asyncio.run(snmp_get(sim, device_id, SYS_NAME))
        assert str(found[SYS_NAME]) == device_id


def test_snmp_objects_encode_the_device_counter(sim: Simulator) -> None:
    device_id = dev_id("raritan")
    sim.clock.advance(timedelta(hours=5))
    kwh = sim.displayed_kwh(device_id)
    assert kwh == pytest.approx(INITIAL_KWH + POWER_KW * 5)
    found = asyncio.run(snmp_get(sim, device_id, APC_DEVICE_ENERGY, RARITAN_INLET_ENERGY,
                                 *[RARITAN_OUTLET(n) for n in range(1, OUTLETS + 1)]))
    assert int(found[APC_DEVICE_ENERGY]) == round(kwh * 10)
    assert int(found[RARITAN_INLET_ENERGY]) == round(kwh * 1000)
    outlets = [int(found[RARITAN_OUTLET(n)]) for n in range(1, OUTLETS + 1)]
    assert outlets == [round(outlet_kwh(kwh, n) * 1000) for n in range(1, OUTLETS + 1)]
    assert sum(outlets) == pytest.approx(kwh * 1000, abs=OUTLETS)


def test_modbus_registers_encode_the_same_counter(sim: Simulator) -> None:
    device_id = dev_id("sentry")
    wh, kwh = asyncio.run(modbus_registers(sim, device_id))
    assert wh == round(sim.displayed_kwh(device_id) * 1000)
    assert kwh == pytest.approx(sim.displayed_kwh(device_id), rel=1e-7)


def test_rollover_and_reset_show_on_every_face(sim: Simulator) -> None:
    device_id = dev_id("geist")
    sim.device(device_id).set_fault("reset")
    sim.clock.advance(timedelta(hours=1))
    assert int(asyncio.run(snmp_get(sim, device_id, APC_DEVICE_ENERGY))[APC_DEVICE_ENERGY]) == round(POWER_KW * 10)
    wh, _ = asyncio.run(modbus_registers(sim, device_id))
    assert wh == round(POWER_KW * 1000)


def test_a_down_device_answers_nothing(sim: Simulator) -> None:
    device_id = dev_id("plain")
    sim.device(device_id).set_fault("down")

    async def ask() -> object:
        snmp = hlapi.SnmpEngine()
        try:
            target = await hlapi.UdpTransportTarget.create(address(sim.snmp_url(device_id)), timeout=0.3, retries=0)
            indication, _, _, _ = await hlapi.get_cmd(
                snmp, hlapi.CommunityData(sim.snmp_credentials.community), target, hlapi.ContextData(),
                hlapi.ObjectType(hlapi.ObjectIdentity("1.3.6.1.2.1.1.5.0")))
            return indication
        finally:
            snmp.close_dispatcher()

    assert "timeout" in str(asyncio.run(ask())).lower()


def test_stop_closes_the_protocol_ports() -> None:
    sim = Simulator([DeviceSpec("one", "plain")]).start()
    host, port = address(sim.modbus_url("one"))
    sim.stop()
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(1)
        probe.connect((host, port))
