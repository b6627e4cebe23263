"""Config models for the meters that are not web pages: SNMP (v2c, v3), Modbus TCP, Redfish sessions.

They live apart from ``config.py`` so the web-page config stays readable; ``ScrapeConfig``
embeds them, and ``config.protocol_problems`` checks each engine's rules. As for web pages,
each value names where it is in ``selector``: an OID for SNMP
(``1.3.6.1.4.1.318.1.1.26.4.3.1.9.1``), a register for Modbus (``holding:3203`` or
``input:72``). Credentials stay ``${NAME}`` references until the engine resolves them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

OID_RE = re.compile(r"^\.?\d+(\.\d+)+$")
REGISTER_RE = re.compile(r"^(?:(?P<table>holding|input):)?(?P<address>0x[0-9a-fA-F]+|\d+)$")
RegisterType = Literal["uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"]
WordOrder = Literal["big", "little"]
Table = Literal["holding", "input"]
Framing = Literal["tcp", "rtu"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SnmpCommunityAuth(_Model):
    """SNMP v1/v2c: a community string (a reference: agents treat it as a password)."""

    type: Literal["snmp_community"]
    community: str
    version: Literal["1", "2c"] = "2c"


class SnmpV3Auth(_Model):
    """SNMP v3 USM user: authentication and privacy passwords are references."""

    type: Literal["snmp_v3"]
    username: str
    auth_protocol: Literal["none", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] = "SHA"
    auth_password: str | None = None
    priv_protocol: Literal["none", "DES", "3DES", "AES", "AES192", "AES256"] = "AES"
    priv_password: str | None = None
    context: str = Field("", description="SNMPv3 context name; empty for most PDUs")

    @model_validator(mode="after")
    def _levels(self) -> SnmpV3Auth:
        if self.auth_protocol != "none" and not self.auth_password:
            raise ValueError("auth_password is required with an auth_protocol (or set auth_protocol: none)")
        if self.priv_protocol != "none" and not self.priv_password:
            raise ValueError("priv_password is required with a priv_protocol (or set priv_protocol: none)")
        if self.priv_protocol != "none" and self.auth_protocol == "none":
            raise ValueError("privacy needs authentication: set an auth_protocol")
        return self

    @property
    def security_level(self) -> str:
        """noAuthNoPriv, authNoPriv or authPriv, as SNMP tools name them."""
        if self.auth_protocol == "none":
            return "noAuthNoPriv"
        return "authNoPriv" if self.priv_protocol == "none" else "authPriv"


class RedfishSessionAuth(_Model):
    """Redfish session login (engine http): POST the credentials, send the token, DELETE the session after."""

    type: Literal["redfish_session"]
    username: str
    password: str
    sessions_url: str | None = Field(
        None, description="absent: SessionService/Sessions under the service root (url up to /redfish/v1/)")
    keep_session: bool = Field(
        False, description="false: log out (DELETE the session) after every read; true: reuse the session "
        "while the device accepts it, log in again on 401")


class SnmpOptions(_Model):
    """How to ask: one GET for all values, or a bulk walk of a table shared by many endpoints."""

    mode: Literal["get", "walk"] = Field(
        "get", description="walk: read the whole `walk_root` subtree once and pick the values from it"
    )
    walk_root: str | None = Field(None, description="the table to walk (walk mode); every value's OID is under it")
    max_repetitions: int = Field(25, ge=1, le=200, description="rows per GETBULK in a walk")
    walk_cache_s: float = Field(
        5.0, ge=0, le=300, description="endpoints on one device within this many seconds share one walk"
    )
    request_timeout_s: float = Field(2.0, gt=0, le=60, description="per request; retried within timeout_s")
    outlet: int | None = Field(None, ge=1, le=4096, description="the outlet an outlet preset reads: fills "
                               "`{outlet}` in its OIDs (a PDU with 24 outlets is 24 endpoints, outlet 1 to 24)")
    unit: int | None = Field(None, ge=0, le=255, description="the PDU's index in its MIB when PDUs are chained "
                             "behind one address (Raritan pduId, Eaton strapping index from 0, Sentry4 unit): "
                             "fills `{unit}` in a preset's OIDs")

    @model_validator(mode="after")
    def _walk(self) -> SnmpOptions:
        if self.mode == "walk" and not self.walk_root:
            raise ValueError("mode walk needs walk_root (the table OID to walk)")
        if self.walk_root is not None and not OID_RE.match(self.walk_root):
            raise ValueError(f"walk_root {self.walk_root!r} is not a numeric OID such as 1.3.6.1.4.1.318")
        return self


class RegisterFormat(_Model):
    """How a value's registers decode: table, type, word order (per endpoint or per value)."""

    table: Table | None = None
    type: RegisterType | None = None
    word_order: WordOrder | None = None


class ModbusOptions(_Model):
    """Modbus over TCP: the framing, the unit id behind the address, and how registers decode by default."""

    framing: Framing = Field("tcp", description="tcp: Modbus TCP (a meter's own Ethernet port, or a Modbus "
                             "gateway); rtu: RTU frames over the TCP connection, as a serial-to-Ethernet converter "
                             "in transparent (raw) mode passes them to the meters on its RS-485 bus")
    unit_id: int = Field(1, ge=0, le=255, description="the slave/unit id (a gateway routes by it; 1-247 on an RTU bus)")
    table: Table = Field("holding", description="default register table when a selector names none")
    type: RegisterType = "float32"
    word_order: WordOrder = Field("big", description="big: high word first (most meters); little: low word first")
    values: dict[str, RegisterFormat] = Field(default_factory=dict, description="per-value overrides by name")
    request_timeout_s: float = Field(2.0, gt=0, le=60)

    @model_validator(mode="after")
    def _bus_address(self) -> ModbusOptions:
        # A serial bus addresses its meters 1..247 (0 is broadcast: every meter acts, none answers).
        if self.framing == "rtu" and not 1 <= self.unit_id <= 247:
            raise ValueError(f"unit_id {self.unit_id}: a meter on an RTU bus has an address from 1 to 247")
        return self

    def format_for(self, name: str, table: Table | None) -> tuple[Table, RegisterType, WordOrder]:
        """The table, type and word order of value ``name`` (selector, then override, then default)."""
        override = self.values.get(name, RegisterFormat())
        return (table or override.table or self.table, override.type or self.type,
                override.word_order or self.word_order)


def parse_register(selector: str) -> tuple[Table | None, int]:
    """``holding:3203`` -> ("holding", 3203); ``0x48`` -> (None, 72); raises ValueError otherwise."""
    match = REGISTER_RE.match(selector.strip())
    if match is None:
        raise ValueError(f"{selector!r} is not a register: write `holding:3203`, `input:0x48` or `3203`")
    address = int(match.group("address"), 0)
    if not 0 <= address <= 65535:
        raise ValueError(f"register address {address} is outside 0..65535")
    table = match.group("table")
    return (table if table in ("holding", "input") else None), address  # type: ignore[return-value]


def normalize_oid(selector: str) -> str:
    """``.1.3.6.1`` -> ``1.3.6.1``; raises ValueError when it is not a numeric OID."""
    oid = selector.strip()
    if not OID_RE.match(oid):
        raise ValueError(f"{selector!r} is not a numeric OID such as 1.3.6.1.4.1.318.1.1.26.4.3.1.9.1")
    return oid.lstrip(".")


DEFAULT_SNMP = SnmpOptions.model_validate({})
DEFAULT_MODBUS = ModbusOptions.model_validate({})
REGISTER_WORDS: dict[str, int] = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2,
                                  "uint64": 4, "int64": 4, "float64": 4}


def reset_time_column(root: str, value_oid: str, reset_oid: str) -> str | None:
    """The column a walked value's reset time is walked from; None when it lies under ``root`` already."""
    if (reset_oid + ".").startswith(root + "."):
        return None
    depth = len(value_oid.split(".")) - len(root.split("."))
    arcs = reset_oid.split(".")
    if depth < 1:
        raise ValueError(f"counter.reset_time {reset_oid} lies outside walk_root {root}, and the value is walk_root "
                         "itself: no index to walk it by")
    if len(arcs) - depth < 2:
        raise ValueError(f"counter.reset_time {reset_oid} has no column to walk: it needs more arcs than the "
                         f"{depth} that index the value below walk_root")
    return ".".join(arcs[:-depth])
