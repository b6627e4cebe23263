"""The simulator's SNMP face: a real pysnmp agent answering for every device on its own UDP port.

One pysnmp ``SnmpEngine`` (creating one costs about 0.2 s, so never one per device) holds one
UDP transport per device; the transport a request arrived on tells which device it asks, and
``snmp_objects.device_objects`` says what that device answers (every vendor's energy objects,
computed at request time from its one true counter).

Credentials are the simulator's (``SnmpCredentials``). Faults: ``down`` drops every datagram,
``slow`` delivers it ``delay`` seconds late;
``wrong_password`` spoils the request's community or v3 digest on arrival, so pysnmp's own
security checks refuse it exactly as for a client with wrong credentials (no answer to a wrong
community, a usmStatsWrongDigests report for v3); ``garbled`` answers text, ``sentinel``
answers -1 where the MIB allows it (signed counters) or no such instance.

v2c reads with the right community are answered by ``snmp_fast`` (a few lines of BER instead of
pysnmp's responder, five times cheaper); everything else goes through pysnmp.
"""

from __future__ import annotations

import bisect
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.ber import encoder as ber_encoder
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import api, rfc1902, rfc1905
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from nxforge.simulator import snmp_fast
from nxforge.simulator.snmp_objects import device_objects

if TYPE_CHECKING:
    from nxforge.simulator.devices import DeviceRuntime

AREA = "nxforge-sim"


@dataclass(frozen=True)
class SnmpCredentials:
    """What the simulated agents accept: a v2c community and one v3 user (SHA + AES-128)."""

    community: str = "public"
    user: str = "nxforge"
    auth_password: str = "sim-auth-pass"
    priv_password: str = "sim-priv-pass"


class SnmpFace:
    """The agent: one engine, one UDP port per device, objects answered from the device runtime."""

    def __init__(self, host: str, credentials: SnmpCredentials, base_port: int = 0) -> None:
        self.host = host
        self.credentials = credentials
        self.base_port = base_port  # 0: any free port per device; else device n (1-based) on base_port + n - 1
        self.ports: dict[str, int] = {}
        self._by_domain: dict[tuple[int, ...], DeviceRuntime] = {}
        self._engine: engine.SnmpEngine | None = None

    async def start(self, runtimes: list[DeviceRuntime]) -> None:
        """Bind the ports and register the responders (runs on the protocol loop)."""
        snmp = self._engine = engine.SnmpEngine()
        for index, runtime in enumerate(runtimes, start=1):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((self.host, self.base_port + index - 1 if self.base_port else 0))
            sock.setblocking(False)
            domain = (*udp.DOMAIN_NAME, index)
            transport = _DeviceTransport(runtime, self.credentials.community)
            config.add_transport(snmp, domain, transport.open_server_mode(sock=sock))
            self._by_domain[domain] = runtime
            self.ports[runtime.spec.id] = int(sock.getsockname()[1])
        creds = self.credentials
        config.add_v1_system(snmp, AREA, creds.community)
        config.add_v3_user(snmp, creds.user, config.USM_AUTH_HMAC96_SHA, creds.auth_password,
                           config.USM_PRIV_CFB128_AES, creds.priv_password)
        for model in (1, 2):
            config.add_vacm_user(snmp, model, AREA, "noAuthNoPriv", (1, 3, 6))
        config.add_vacm_user(snmp, 3, creds.user, "authPriv", (1, 3, 6))
        snmp_context = context.SnmpContext(snmp)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", _Objects(self))
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, cmdrsp.BulkCommandResponder):
            responder(snmp, snmp_context)

    async def stop(self) -> None:
        """Close every UDP port."""
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    def device_for(self, snmp: engine.SnmpEngine) -> tuple[DeviceRuntime, int]:
        """The device and security model of the request being answered."""
        request = snmp.observer.get_execution_context("rfc3412.receiveMessage:request")
        return self._by_domain[tuple(request["transportDomain"])], int(request["securityModel"])


class _DeviceTransport(udp.UdpAsyncioTransport):
    """A device's UDP port; a device that is ``down`` drops every datagram, discovery included."""

    def __init__(self, runtime: DeviceRuntime, community: str = "") -> None:
        super().__init__()
        self.runtime = runtime
        self.community = community.encode()

    def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:
        if self.runtime.fault("down") is not None:
            return
        if self.runtime.fault("wrong_password") is not None:
            datagram = spoil_credentials(datagram)
        slow = self.runtime.fault("slow")
        if slow is not None:  # answer late, as a busy agent does; the client may time out first
            self.loop.call_later(float(slow["delay"]), super().datagram_received, datagram, transportAddress)
            return
        if self.community and self.transport is not None:  # v2c reads: answered without pysnmp (snmp_fast.py)
            objects = device_objects(self.runtime)
            response = snmp_fast.answer(datagram, self.community, objects, sorted(objects))
            if response is not None:
                self.transport.sendto(response, transportAddress)
                return
        super().datagram_received(datagram, transportAddress)


def spoil_credentials(datagram: bytes) -> bytes:
    """The request as if the device's credentials had changed: another community (the engine then
    drops it, as agents do) or a broken v3 digest (the engine answers usmStatsWrongDigests)."""
    try:
        version = int(api.decodeMessageVersion(datagram))
        if version in (api.SNMP_VERSION_1, api.SNMP_VERSION_2C):
            module = api.PROTOCOL_MODULES[version]
            message, _ = ber_decoder.decode(datagram, asn1Spec=module.Message())
            module.apiMessage.set_community(message, b"changed-on-the-device")
            return bytes(ber_encoder.encode(message))
        message, _ = ber_decoder.decode(datagram, asn1Spec=SNMPv3Message())
        params, _ = ber_decoder.decode(bytes(message["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
        digest = bytes(params["msgAuthenticationParameters"])
        if digest:  # discovery carries no digest and is answered normally
            params["msgAuthenticationParameters"] = bytes(b ^ 0xFF for b in digest)
            message["msgSecurityParameters"] = ber_encoder.encode(params)
        return bytes(ber_encoder.encode(message))
    except Exception:  # not SNMP at all: let the engine reject it
        return datagram


class _Objects:
    """The instrumentation pysnmp's responders call: GET and GETNEXT over ``device_objects``.

    A GETBULK calls ``read_next_variables`` once per repetition within one request; the objects
    are computed once per request (the request's execution context identifies it).
    """

    def __init__(self, face: SnmpFace) -> None:
        self.face = face
        self._request: object = None
        self._objects: dict[tuple[int, ...], Any] = {}
        self._ordered: list[tuple[int, ...]] = []

    def _current(self, snmp: engine.SnmpEngine) -> tuple[dict[tuple[int, ...], Any], list[tuple[int, ...]]]:
        request = snmp.observer.get_execution_context("rfc3412.receiveMessage:request")
        if request is not self._request:
            runtime, model = self.face.device_for(snmp)
            objects = device_objects(runtime)
            if model == 1:  # SNMPv1 has no Counter64
                objects = {k: v for k, v in objects.items() if not isinstance(v, rfc1902.Counter64)}
            self._request, self._objects, self._ordered = request, objects, sorted(objects)
        return self._objects, self._ordered

    def read_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Any]]:
        """GET: each OID's value, or noSuchInstance."""
        objects, _ = self._current(ctx["snmpEngine"])
        return [(oid, objects.get(tuple(oid), rfc1905.noSuchInstance)) for oid, _ in var_binds]

    def read_next_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Any]]:
        """GETNEXT (and each GETBULK step): the next OID in order, or endOfMibView."""
        objects, ordered = self._current(ctx["snmpEngine"])
        answers = []
        for oid, _ in var_binds:
            at = bisect.bisect_right(ordered, tuple(oid))
            if at < len(ordered):
                answers.append((rfc1902.ObjectName(ordered[at]), objects[ordered[at]]))
            else:
                answers.append((oid, rfc1905.endOfMibView))
        return answers
