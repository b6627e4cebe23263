"""The simulator agent's fast path: SNMPv2c GET, GETNEXT and GETBULK answered without pysnmp's machinery.

pysnmp's command responder spends about 3 ms of Python per GETBULK of 25 outlets (building and
BER-encoding pyasn1 objects for the request, the response and every var-bind), so one agent
process answered fewer outlet counters per second than one collector can read. The requests the
benchmarks and the collector send most (v2c reads with the right community) are decoded and
answered here with a few lines of BER; everything else (v1, v3, a wrong community, SETs, anything
this parser does not recognise) returns None and goes through pysnmp exactly as before, so
credentials, faults and reports behave the same. The answers are the same objects
(``snmp_objects.device_objects``) and the same rules as ``snmp_agent._Objects``: a missing object
is noSuchInstance, past the last one endOfMibView.
"""

from __future__ import annotations

import bisect
from typing import Any

from pysnmp.proto import rfc1902

V2C = 1
GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5
NO_SUCH_INSTANCE, END_OF_MIB_VIEW = b"\x81\x00", b"\x82\x00"
MAX_VARBINDS = 2048  # a bigger answer goes the slow way (pysnmp trims it to the message size)
MAX_ANSWER_BYTES = 65000
_TAGS: dict[type, int] = {rfc1902.Integer32: 0x02, rfc1902.Integer: 0x02, rfc1902.OctetString: 0x04,
                          rfc1902.Counter32: 0x41, rfc1902.Gauge32: 0x42, rfc1902.Unsigned32: 0x42,
                          rfc1902.TimeTicks: 0x43, rfc1902.Counter64: 0x46}


class _Unsupported(Exception):
    """Not a request this path answers: pysnmp takes it."""


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the BER element at ``at``."""
    if at + 2 > len(data):
        raise _Unsupported
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 3 or at + count > len(data):
            raise _Unsupported
        length = int.from_bytes(data[at:at + count], "big")
        at += count
    if at + length > len(data):
        raise _Unsupported
    return tag, at, at + length


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _wrap(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _integer(value: int, tag: int = 0x02) -> bytes:
    return _wrap(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _oid_from(content: bytes) -> tuple[int, ...]:
    if not content:
        raise _Unsupported
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _oid(arcs: tuple[int, ...]) -> bytes:
    out = bytearray((40 * arcs[0] + arcs[1],)) if len(arcs) > 1 else bytearray((40 * arcs[0],))
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _wrap(0x06, bytes(out))


def _value(value: Any) -> bytes:
    tag = _TAGS.get(type(value))
    if tag is None:
        raise _Unsupported  # a type this path does not encode
    if tag == 0x04:
        return _wrap(0x04, bytes(value))
    return _integer(int(value), tag)


def _request(datagram: bytes) -> tuple[bytes, int, int, int, int, list[tuple[int, ...]]]:
    """(community, PDU tag, request id, non-repeaters, max-repetitions, OIDs) of a v2c read request."""
    tag, start, _end = _tlv(datagram, 0)
    if tag != 0x30:
        raise _Unsupported
    tag, at, stop = _tlv(datagram, start)
    if tag != 0x02 or int.from_bytes(datagram[at:stop], "big", signed=True) != V2C:
        raise _Unsupported
    tag, at, after = _tlv(datagram, stop)
    if tag != 0x04:
        raise _Unsupported
    community = datagram[at:after]
    pdu, at, _pdu_end = _tlv(datagram, after)
    if pdu not in (GET, GETNEXT, GETBULK):
        raise _Unsupported
    numbers = []
    for _ in range(3):
        tag, content, at = _tlv(datagram, at)
        if tag != 0x02:
            raise _Unsupported
        numbers.append(int.from_bytes(datagram[content:at], "big", signed=True))
    tag, at, list_end = _tlv(datagram, at)
    if tag != 0x30:
        raise _Unsupported
    oids = []
    while at < list_end:
        tag, content, at = _tlv(datagram, at)
        if tag != 0x30:
            raise _Unsupported
        tag, oid_start, oid_end = _tlv(datagram, content)
        if tag != 0x06:
            raise _Unsupported
        oids.append(_oid_from(datagram[oid_start:oid_end]))
    return community, pdu, numbers[0], numbers[1], numbers[2], oids


def answer(datagram: bytes, community: bytes, objects: dict[tuple[int, ...], Any],
           ordered: list[tuple[int, ...]]) -> bytes | None:
    """The response datagram to a v2c GET/GETNEXT/GETBULK with ``community``, or None (pysnmp answers it)."""
    try:
        given, pdu, request_id, first, second, oids = _request(datagram)
        if given != community:
            return None  # pysnmp drops it, as agents do
        varbinds: list[bytes] = []

        def following(oid: tuple[int, ...]) -> tuple[tuple[int, ...], bytes]:
            at = bisect.bisect_right(ordered, oid)
            if at < len(ordered):
                return ordered[at], _value(objects[ordered[at]])
            return oid, END_OF_MIB_VIEW

        if pdu == GET:
            for oid in oids:
                found = objects.get(oid)
                varbinds.append(_wrap(0x30, _oid(oid) + (NO_SUCH_INSTANCE if found is None else _value(found))))
        elif pdu == GETNEXT:
            for oid in oids:
                name, value = following(oid)
                varbinds.append(_wrap(0x30, _oid(name) + value))
        else:
            non_repeaters, repetitions = max(0, min(first, len(oids))), max(0, second)
            for oid in oids[:non_repeaters]:
                name, value = following(oid)
                varbinds.append(_wrap(0x30, _oid(name) + value))
            cursors = oids[non_repeaters:]
            if len(cursors) * repetitions + len(varbinds) > MAX_VARBINDS:
                return None
            for _ in range(repetitions if cursors else 0):
                step = [following(oid) for oid in cursors]
                varbinds += [_wrap(0x30, _oid(name) + value) for name, value in step]
                cursors = [name for name, _ in step]  # pysnmp repeats endOfMibView too: so does this
        body = (_integer(request_id) + _integer(0) + _integer(0) + _wrap(0x30, b"".join(varbinds)))
        message = _wrap(0x30, _integer(V2C) + _wrap(0x04, community) + _wrap(RESPONSE, body))
    except _Unsupported:
        return None
    return message if len(message) <= MAX_ANSWER_BYTES else None
