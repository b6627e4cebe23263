"""The agent's v2c fast path (snmp_fast.py) answers every read exactly as pysnmp's responder does."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from nxforge.simulator import DeviceSpec, SimClock, Simulator, snmp_fast
from nxforge.simulator.snmp_objects import OUTLET_ENERGY, SYS_NAME

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
OUTLET = OUTLET_ENERGY["raritan-pdu2-outlet-snmp"].oid
TABLE = OUTLET(1)[:-2]
LAST = (1, 3, 6, 1, 4, 1, 32473, 1, 1, 0)  # the generic counter: the last object a device serves


def _request(kind: str, oids: list[tuple[int, ...]], community: str, request_id: int, non_repeaters: int = 0,
             repetitions: int = 0) -> bytes:
    if kind == "bulk":
        pdu = V2C.GetBulkRequestPDU()
        V2C.apiBulkPDU.set_defaults(pdu)
        V2C.apiBulkPDU.set_non_repeaters(pdu, non_repeaters)
        V2C.apiBulkPDU.set_max_repetitions(pdu, repetitions)
    else:
        pdu = V2C.GetRequestPDU() if kind == "get" else V2C.GetNextRequestPDU()
        V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_varbinds(pdu, [(V2C.ObjectIdentifier(oid), V2C.Null("")) for oid in oids])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def _ask(port: int, datagram: bytes) -> list[tuple[tuple[int, ...], str, Any]] | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.sendto(datagram, ("127.0.0.1", port))
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            return None
    message, _ = decoder.decode(data, asn1Spec=V2C.Message())
    pdu = V2C.apiMessage.get_pdu(message)
    assert int(V2C.apiPDU.get_error_status(pdu)) == 0
    return [(tuple(name), type(value).__name__, value.prettyPrint()) for name, value in V2C.apiPDU.get_varbinds(pdu)]


CASES = [
    ("get", [OUTLET(3), SYS_NAME, (*TABLE, 99, 8)], 0, 0),  # a missing object: noSuchInstance
    ("next", [TABLE, OUTLET(24), LAST], 0, 0),  # past the last object: endOfMibView
    ("bulk", [TABLE], 0, 25),  # the collector's walk: the table and one object past it
    ("bulk", [SYS_NAME, TABLE, (1, 3, 6, 1, 4, 1, 318)], 1, 7),  # non-repeaters and two columns
    ("bulk", [LAST], 0, 5),  # every repetition past the end
]


@pytest.mark.parametrize(("kind", "oids", "non_repeaters", "repetitions"), CASES)
def test_fast_answers_equal_pysnmp(kind: str, oids: list[tuple[int, ...]], non_repeaters: int, repetitions: int,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SimClock(start=datetime(2026, 4, 1, tzinfo=UTC), frozen=True)
    with Simulator([DeviceSpec("pdu-1", "plain", outlets=24)], clock=clock) as sim:
        port = int(sim.snmp_url("pdu-1").rsplit(":", 1)[1].strip("/"))
        community = sim.snmp_credentials.community
        fast = _ask(port, _request(kind, oids, community, 11, non_repeaters, repetitions))
        assert fast is not None
        assert snmp_fast.answer(_request(kind, oids, community, 12, non_repeaters, repetitions),
                                b"wrong", {}, []) is None  # a wrong community is pysnmp's (no answer)
        monkeypatch.setattr(snmp_fast, "answer", lambda *args: None)
        slow = _ask(port, _request(kind, oids, community, 13, non_repeaters, repetitions))
    assert fast == slow
    assert len(fast) >= len(oids)


def test_what_the_fast_path_leaves_to_pysnmp() -> None:
    v1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
    pdu = v1.GetRequestPDU()
    v1.apiPDU.set_defaults(pdu)
    v1.apiPDU.set_varbinds(pdu, [(v1.ObjectIdentifier(SYS_NAME), v1.Null(""))])
    message = v1.Message()
    v1.apiMessage.set_defaults(message)
    v1.apiMessage.set_community(message, "public")
    v1.apiMessage.set_pdu(message, pdu)
    objects = {SYS_NAME: V2C.OctetString("x")}
    assert snmp_fast.answer(bytes(encoder.encode(message)), b"public", objects, [SYS_NAME]) is None  # v1
    assert snmp_fast.answer(b"\x30\x03\x02\x01", b"public", objects, [SYS_NAME]) is None  # truncated
    assert snmp_fast.answer(b"not snmp at all", b"public", objects, [SYS_NAME]) is None
    good = _request("get", [SYS_NAME], "public", 5)
    assert snmp_fast.answer(good, b"public", objects, [SYS_NAME]) is not None
