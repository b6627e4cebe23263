"""The bare v2c bulk walk (snmp_bulk.py) finds what pysnmp's bulk walk finds, with the same types and values."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pysnmp.hlapi.v3arch import asyncio as hlapi
from pysnmp.proto.rfc1902 import ObjectName

from nxforge.scraping import snmp_bulk
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import OUTLET_ENERGY

RARITAN_TABLE = OUTLET_ENERGY["raritan-pdu2-outlet-snmp"].oid(1)[:-2]
APC_TABLE = OUTLET_ENERGY["apc-rpdu2-outlet-snmp"].oid(1)[:-1]


async def _pysnmp_walk(port: int, community: str, root: tuple[int, ...], repetitions: int) -> dict[str, Any]:
    engine = hlapi.SnmpEngine()
    found: dict[str, Any] = {}
    try:
        target = await hlapi.UdpTransportTarget.create(("127.0.0.1", port), timeout=1, retries=0)
        async for indication, status, _, varbinds in hlapi.bulk_walk_cmd(
                engine, hlapi.CommunityData(community), target, hlapi.ContextData(), 0, repetitions,
                hlapi.ObjectType(hlapi.ObjectIdentity(ObjectName(root))), lexicographicMode=False, lookupMib=False):
            assert not indication and not status
            found.update({str(name): value for name, value in varbinds})
    finally:
        engine.close_dispatcher()
    return found


@pytest.mark.parametrize(("root", "repetitions"), [(RARITAN_TABLE, 25), (RARITAN_TABLE, 5), (APC_TABLE, 7)])
def test_bare_walk_equals_pysnmp(root: tuple[int, ...], repetitions: int) -> None:
    with Simulator([DeviceSpec("pdu-1", "plain", outlets=24)],
                   clock=SimClock(start=datetime(2026, 4, 1, tzinfo=UTC), frozen=True)) as sim:
        port = int(sim.snmp_url("pdu-1").rsplit(":", 1)[1].strip("/"))
        community = sim.snmp_credentials.community
        bare = asyncio.run(snmp_bulk.walk("127.0.0.1", port, community, root, repetitions, 1.0, 0))
        reference = asyncio.run(_pysnmp_walk(port, community, root, repetitions))
    assert len(bare) == 24
    assert {oid: (type(v).__name__, int(v)) for oid, v in bare.items()} == \
        {oid: (type(v).__name__, int(v)) for oid, v in reference.items()}


def test_no_answer_and_what_is_left_to_pysnmp() -> None:
    with Simulator([DeviceSpec("pdu-1", "plain", outlets=4)]) as sim:
        port = int(sim.snmp_url("pdu-1").rsplit(":", 1)[1].strip("/"))
        with pytest.raises(snmp_bulk.NoAnswer):  # a wrong community is never answered
            asyncio.run(snmp_bulk.walk("127.0.0.1", port, "wrong", RARITAN_TABLE, 25, 0.2, 1))
    with pytest.raises(snmp_bulk.Unsupported):
        snmp_bulk.response(b"\x30\x03\x02\x01", 1)
    assert snmp_bulk.error_name(2) == "noSuchName"
