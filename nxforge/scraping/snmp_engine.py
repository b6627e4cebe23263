"""The ``snmp`` engine: energy counters from PDUs and meters over SNMP v1/v2c and v3 (pysnmp).

One pysnmp ``SnmpEngine`` serves every request on the scraping loop: creating one costs about
0.2 s (it loads the SNMP framework MIBs), and pysnmp multiplexes many concurrent requests over
it. ``mode: get`` asks for all of an endpoint's OIDs in one GET; ``mode: walk`` bulk-walks a
table once and picks the values from it, and endpoints on the same device within
``walk_cache_s`` share that walk, so a PDU with 24 metered outlets (24 endpoints, one per
client) costs one walk, not 24 requests. A v2c walk goes over a bare UDP socket
(``snmp_bulk.py``, several times cheaper than pysnmp's stack); v1, v3 and GETs use pysnmp.

An agent ignores a request with a wrong community (no answer, exactly like a device that is
off). To tell the two apart, a v1/v2c timeout is followed by an unauthenticated SNMPv3
discovery probe: an agent that answers it is up, so the community was refused (``auth_failed``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from pysnmp.hlapi.v3arch import asyncio as hlapi
from pysnmp.proto import errind
from pysnmp.proto.rfc1902 import ObjectName

from . import snmp_bulk
from .config import ValueSpec
from .context import RunContext
from .errors import ScrapeFailure
from .protocol_config import DEFAULT_SNMP, SnmpCommunityAuth, SnmpV3Auth, normalize_oid, reset_time_column
from .register_values import finish_number
from .reset_times import parse_reset_time
from .result import ReadValue

log = logging.getLogger(__name__)

DEFAULT_PORT = 161
AUTH_PROTOCOLS = {
    "none": hlapi.usmNoAuthProtocol, "MD5": hlapi.usmHMACMD5AuthProtocol, "SHA": hlapi.usmHMACSHAAuthProtocol,
    "SHA224": hlapi.usmHMAC128SHA224AuthProtocol, "SHA256": hlapi.usmHMAC192SHA256AuthProtocol,
    "SHA384": hlapi.usmHMAC256SHA384AuthProtocol, "SHA512": hlapi.usmHMAC384SHA512AuthProtocol,
}
PRIV_PROTOCOLS = {
    "none": hlapi.usmNoPrivProtocol, "DES": hlapi.usmDESPrivProtocol, "3DES": hlapi.usm3DESEDEPrivProtocol,
    "AES": hlapi.usmAesCfb128Protocol, "AES192": hlapi.usmAesCfb192Protocol, "AES256": hlapi.usmAesCfb256Protocol,
}
# Error indications that mean "these v3 credentials are wrong", as opposed to "no answer".
AUTH_ERRORS = (errind.WrongDigest, errind.UnknownUserName, errind.DecryptionError, errind.AuthenticationError,
               errind.AuthenticationFailure, errind.UnsupportedSecurityLevel, errind.UnknownSecurityName)
EMPTY_TYPES = ("NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null")

Varbinds = dict[str, Any]


class SnmpReader:
    """Reads the values of SNMP endpoints; one per scraping engine, used on its loop only."""

    def __init__(self) -> None:
        self._engine: hlapi.SnmpEngine | None = None
        self._walks: dict[tuple[Any, ...], tuple[float, asyncio.Future[Varbinds]]] = {}

    def _snmp(self) -> hlapi.SnmpEngine:
        if self._engine is None:
            self._engine = hlapi.SnmpEngine()
        return self._engine

    async def aclose(self) -> None:
        """Close the UDP sockets."""
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def run(self, ctx: RunContext) -> dict[str, ReadValue]:
        """Read every value of ``ctx.config`` (GET or a shared bulk walk)."""
        config = ctx.config
        options = config.snmp or DEFAULT_SNMP
        host, port = _address(config.url)
        oids = {name: normalize_oid(spec.selector) for name, spec in config.values.items()}
        dated = {name: normalize_oid(spec.counter.reset_time) for name, spec in config.values.items()
                 if spec.counter is not None and spec.counter.reset_time is not None}  # asked with the values
        if options.mode == "walk":
            assert options.walk_root is not None
            found = {}
            for root in walk_roots(normalize_oid(options.walk_root), oids, dated):
                key = (host, port, config.auth.model_dump_json(), root)
                walked = await self._shared_walk(key, options.walk_cache_s,
                                                 functools.partial(self._walk, ctx, host, port, root))
                ctx.mark(f"walk {root} ({len(walked)} objects)")
                found.update(walked)
        else:
            found = await self._get(ctx, host, port, [*oids.values(), *dated.values()], optional=set(dated.values()))
            ctx.mark(f"get {len(oids) + len(dated)} OIDs")
        ctx.snapshot.url = config.url
        ctx.snapshot.source = "\n".join(f"{oid} = {_show(found.get(oid))}" for oid in (*oids.values(), *dated.values()))
        values = {name: _value(name, config.values[name], oid, found.get(oid), config.url)
                  for name, oid in oids.items()}
        for name, oid in dated.items():
            values[name] = _dated(name, values[name], oid, found.get(oid), config.values[name])
        return values

    # -- requests ---------------------------------------------------------------------------

    def _credentials(self, ctx: RunContext) -> tuple[Any, hlapi.ContextData]:
        auth = ctx.config.auth
        if isinstance(auth, SnmpCommunityAuth):
            community = ctx.secrets.resolve_secret(auth.community)
            return hlapi.CommunityData(community, mpModel=0 if auth.version == "1" else 1), hlapi.ContextData()
        assert isinstance(auth, SnmpV3Auth)
        user = hlapi.UsmUserData(
            ctx.secrets.resolve(auth.username),
            authKey=ctx.secrets.resolve_secret(auth.auth_password) if auth.auth_password else None,
            privKey=ctx.secrets.resolve_secret(auth.priv_password) if auth.priv_password else None,
            authProtocol=AUTH_PROTOCOLS[auth.auth_protocol], privProtocol=PRIV_PROTOCOLS[auth.priv_protocol],
        )
        return user, hlapi.ContextData(contextName=auth.context.encode())

    def _timing(self, ctx: RunContext) -> tuple[float, int]:
        """Timeout per request and retries within the endpoint's remaining budget (rounded: pysnmp
        configures a new target for every new pair, which costs more than the request)."""
        per_request = (ctx.config.snmp or DEFAULT_SNMP).request_timeout_s
        budget = ctx.remaining()
        timeout = max(0.05, round(min(per_request, budget), 1))
        return timeout, max(0, min(3, int(budget / timeout) - 1))

    async def _target(self, ctx: RunContext, host: str, port: int) -> hlapi.UdpTransportTarget:
        timeout, retries = self._timing(ctx)
        try:
            return await hlapi.UdpTransportTarget.create((host, port), timeout=timeout, retries=retries)
        except Exception as exc:  # pysnmp wraps resolver errors in its own PySnmpError
            raise ScrapeFailure("unreachable", f"cannot resolve or reach {host}:{port}: {exc}",
                                hint="check the host name in url") from exc

    async def _get(self, ctx: RunContext, host: str, port: int, oids: list[str],
                   optional: set[str] | frozenset[str] = frozenset()) -> Varbinds:
        """The agent's answer for ``oids``; one of the ``optional`` ones missing is asked again without them
        (SNMPv1 fails a whole GET for one missing object; v2c marks that object alone)."""
        credentials, context = self._credentials(ctx)
        target = await self._target(ctx, host, port)
        objects = [_object(oid) for oid in oids]
        indication, status, index, varbinds = await hlapi.get_cmd(self._snmp(), credentials, target, context, *objects,
                                                                  lookupMib=False)
        if indication:
            await self._raise_indication(ctx, indication, host, port, credentials)
        if status:
            where = oids[int(index) - 1] if index and int(index) <= len(oids) else "?"
            if where in optional and status.prettyPrint() == "noSuchName":  # only that one: the others may answer
                return await self._get(ctx, host, port, [oid for oid in oids if oid != where], optional - {where})
            raise ScrapeFailure("selector_not_found", f"the agent at {host}:{port} answered {status.prettyPrint()} "
                                f"for {where}", hint="check the OID against the device's MIB")
        return {str(name): value for name, value in varbinds}

    async def _walk(self, ctx: RunContext, host: str, port: int, root: str) -> Varbinds:
        credentials, context = self._credentials(ctx)  # only the endpoint that walks resolves them
        options = ctx.config.snmp or DEFAULT_SNMP
        auth = ctx.config.auth
        if isinstance(auth, SnmpCommunityAuth) and auth.version != "1":  # v2c: the bare path (snmp_bulk.py)
            timeout, retries = self._timing(ctx)
            try:
                return await snmp_bulk.walk(host, port, ctx.secrets.resolve_secret(auth.community),
                                            tuple(int(arc) for arc in root.split(".")), options.max_repetitions,
                                            timeout, retries)
            except snmp_bulk.NoAnswer:
                await self._raise_indication(ctx, errind.RequestTimedOut(), host, port, credentials)
            except snmp_bulk.ErrorStatus as exc:
                raise ScrapeFailure("step_failed", f"the agent at {host}:{port} answered "
                                    f"{snmp_bulk.error_name(exc.status)} while walking {root}") from None
            except OSError as exc:
                raise ScrapeFailure("unreachable", f"cannot resolve or reach {host}:{port}: {exc}",
                                    hint="check the host name in url") from exc
            except snmp_bulk.Unsupported as exc:
                log.debug("walk of %s on %s:%s through pysnmp: %s", root, host, port, exc)
        target = await self._target(ctx, host, port)
        found: Varbinds = {}
        async for indication, status, _index, varbinds in hlapi.bulk_walk_cmd(
            self._snmp(), credentials, target, context, 0, options.max_repetitions,
            _object(root), lexicographicMode=False, lookupMib=False,
        ):
            if indication:
                await self._raise_indication(ctx, indication, host, port, credentials)
            if status:
                raise ScrapeFailure("step_failed", f"the agent at {host}:{port} answered {status.prettyPrint()} "
                                    f"while walking {root}")
            for name, value in varbinds:
                found[str(name)] = value
        return found

    async def _shared_walk(self, key: tuple[Any, ...], cache_s: float,
                           walk: Callable[[], Awaitable[Varbinds]]) -> Varbinds:
        """One walk per device, credentials and table at a time; its result is reused for ``cache_s``."""
        now = time.monotonic()
        cached = self._walks.get(key)
        if cached is not None and (not cached[1].done() or cached[0] > now):
            return await asyncio.shield(cached[1])
        future: asyncio.Future[Varbinds] = asyncio.get_running_loop().create_future()
        self._walks[key] = (now, future)
        try:
            result = await walk()
        except BaseException as exc:
            self._walks.pop(key, None)
            if isinstance(exc, asyncio.CancelledError):  # waiters must fail, not be cancelled themselves
                exc = ScrapeFailure("timeout", "the shared walk this endpoint waited for was abandoned",
                                    hint="another endpoint on the device timed out first; raise timeout_s")
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        self._walks[key] = (time.monotonic() + cache_s, future)
        future.set_result(result)
        return result

    async def _raise_indication(self, ctx: RunContext, indication: Any, host: str, port: int,
                                credentials: Any) -> None:
        if isinstance(indication, AUTH_ERRORS):
            raise ScrapeFailure("auth_failed", f"the agent at {host}:{port} refused the SNMPv3 credentials: "
                                f"{indication}", hint="check the v3 user name, protocols and passwords")
        if isinstance(indication, errind.RequestTimedOut):
            if isinstance(credentials, hlapi.CommunityData) and await self._agent_answers(host, port):
                raise ScrapeFailure(
                    "auth_failed", f"the agent at {host}:{port} is up (it answers SNMPv3 discovery) but ignored "
                    "the request: the community is wrong, or not allowed from this address",
                    hint="check the community (a secret reference) and the agent's access list")
            raise ScrapeFailure(
                "timeout", f"no SNMP answer from {host}:{port} within timeout_s={ctx.config.timeout_s:g}s",
                hint="the device is off or unreachable, or the community is wrong (agents do not answer a "
                "wrong community)")
        raise ScrapeFailure("step_failed", f"SNMP request to {host}:{port} failed: {indication}")

    async def _agent_answers(self, host: str, port: int) -> bool:
        """True when something at host:port answers an unauthenticated SNMPv3 discovery."""
        try:
            target = await hlapi.UdpTransportTarget.create((host, port), timeout=0.5, retries=0)
            indication, _, _, _ = await hlapi.get_cmd(
                self._snmp(), hlapi.UsmUserData("nxforge-probe"), target, hlapi.ContextData(),
                _object("1.3.6.1.2.1.1.3.0"), lookupMib=False)
        except Exception:
            log.debug("SNMPv3 probe of %s:%s failed", host, port, exc_info=True)
            return False
        return not isinstance(indication, errind.RequestTimedOut)


def walk_roots(root: str, oids: dict[str, str], dated: dict[str, str]) -> list[str]:
    """The tables a walked endpoint reads: ``root``, then the column of each reset time outside it.

    A reset time beside a walked value (Eaton's outletWhTimer beside outletWh) is its own column,
    indexed as the value is: its root drops as many trailing arcs as the value has below ``root``.
    Each column is walked once per device and shared by the device's endpoints, like the values'.
    """
    roots = [root]
    for name, oid in dated.items():
        column = reset_time_column(root, oids[name], oid)
        if column is not None and column not in roots:
            roots.append(column)
    return roots


def _object(oid: str) -> hlapi.ObjectType:
    """A request var-bind by numeric OID, never looked up in MIBs (MIB lookups cost more than the I/O)."""
    return hlapi.ObjectType(hlapi.ObjectIdentity(ObjectName(oid)))


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if not parts.hostname:
        raise ScrapeFailure("config", f"no host in {url!r}", hint="write url: snmp://10.0.0.5 or snmp://host:1161")
    return parts.hostname, parts.port or DEFAULT_PORT


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    return f"{type(value).__name__}: {value.prettyPrint()}"


def _dated(name: str, value: ReadValue, oid: str, found: Any, spec: ValueSpec) -> ReadValue:
    """``value`` with the reset time its device gives at ``oid`` (none when the agent has no such object)."""
    kind = type(found).__name__ if found is not None else "absent"
    if value.counter is None or spec.counter is None or found is None or kind in EMPTY_TYPES:
        return value
    if kind == "TimeTicks":  # sysUpTime and kin count since an event the agent does not date
        raise ScrapeFailure("not_a_number", f"value `{name}`: the counter's reset time at {oid} is TimeTicks "
                            f"({found.prettyPrint()}), a duration, not a time",
                            hint="point counter.reset_time at an object holding a date or Unix seconds")
    try:
        raw: str | int = bytes(found).decode("utf-8", "replace") if kind in ("OctetString", "DisplayString") \
            else int(found)
    except (TypeError, ValueError):
        raise ScrapeFailure("not_a_number", f"value `{name}`: the counter's reset time at {oid} is a {kind} "
                            f"({found.prettyPrint()}), not a time") from None
    at = parse_reset_time(name, oid, raw, spec.counter.reset_time_zone)
    return value.model_copy(update={"counter": value.counter.model_copy(update={"reset_at": at})})


def _value(name: str, spec: ValueSpec, oid: str, found: Any, url: str) -> ReadValue:
    """One varbind to a ``ReadValue``: integers exactly, text through the number rules."""
    kind = type(found).__name__ if found is not None else "absent"
    if found is None or kind in EMPTY_TYPES:
        raise ScrapeFailure(
            "selector_not_found", f"value `{name}`: the agent at {url} has no object {oid} ({kind})",
            hint="check the OID and its index (outlet, inlet) against the device's MIB; walk the table to see it")
    if kind in ("OctetString", "DisplayString"):
        text = bytes(found).decode("utf-8", "replace")
        return finish_number(name, spec, text, text)
    try:
        raw = int(found)
    except (TypeError, ValueError):
        raise ScrapeFailure("not_a_number", f"value `{name}`: {oid} is a {kind} ({found.prettyPrint()}), "
                            "not a number") from None
    return finish_number(name, spec, raw, str(raw))
