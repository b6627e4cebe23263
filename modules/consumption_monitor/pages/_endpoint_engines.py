"""Which of the endpoint form's fields each engine uses: the web engines' login, SNMP's community or v3
user and keys, outlet and unit, Modbus' unit id and framing. Plain functions without Streamlit, which
the form and the tests call.

The engine that decides is the effective one: the form's Engine, else the preset's (``browser`` when
neither says). A field the effective engine has no use for is not shown, and its key is removed from
the YAML, since it would make the endpoint invalid (a v2c community left after choosing v3, a
basic-auth username after choosing snmp). Keys the form does not manage are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nxforge.sdk import UnknownPresetError, load_preset

WEB_ENGINES = ("http", "browser")
ENGINES = (*WEB_ENGINES, "snmp", "modbus")
WEB_AUTH_TYPES = ("none", "basic", "digest", "form", "cookie", "token", "redfish_session")
SNMP_AUTH_TYPES = ("snmp_community", "snmp_v3")
# The values scraping's SnmpCommunityAuth, SnmpV3Auth and ModbusOptions accept (a test compares them).
SNMP_VERSIONS = ("1", "2c")
AUTH_PROTOCOLS = ("none", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("none", "DES", "3DES", "AES", "AES192", "AES256")
FRAMINGS = ("tcp", "rtu")
V3_FIELDS = ("auth_protocol", "auth_password", "priv_protocol", "priv_password", "context")


def get_path(data: Any, path: Iterable[str]) -> Any:
    """The value at ``path``, None when any part is missing."""
    current = data
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def preset_or_none(name: str) -> dict[str, Any] | None:
    """The preset named ``name`` ({} for no name), None when there is no such preset."""
    if not name:
        return {}
    try:
        return load_preset(name)
    except UnknownPresetError:
        return None


@dataclass(frozen=True)
class EngineChoice:
    """What decides the fields: the effective engine and SNMP security, and the preset behind them."""

    engine: str | None
    """The effective engine; None when the preset is unknown and the form names none (nothing is pruned)."""
    auth_type: str = ""
    """The effective login type (the form's, else the file's, else the preset's); empty when none says."""
    preset: dict[str, Any] = field(default_factory=dict)

    @property
    def shown_engine(self) -> str:
        """The engine whose fields the form shows (``browser``, the default, when it is not known)."""
        return self.engine or "browser"


def engine_choice(values: Mapping[str, Any], item: Any = None) -> EngineChoice:
    """The choice the form's ``values`` make; a key the values lack is the endpoint mapping ``item``'s."""

    def said(key: str, path: tuple[str, ...]) -> str:
        raw = values[key] if key in values else get_path(item, path)
        return str(raw if raw is not None else "").strip()

    preset = preset_or_none(said("preset", ("scrape", "preset")))
    engine = said("engine", ("scrape", "engine")) or None
    if engine is None and preset is not None:
        engine = str(preset.get("engine") or "browser")
    auth_type = said("auth_type", ("scrape", "auth", "type")) or str(get_path(preset, ("auth", "type")) or "")
    return EngineChoice(engine, auth_type, preset or {})


def auth_types(engine: str) -> tuple[str, ...]:
    """The login types the Login type select offers for ``engine`` (none for modbus, which has no login)."""
    if engine == "snmp":
        return SNMP_AUTH_TYPES
    return () if engine == "modbus" else WEB_AUTH_TYPES


def wrong_auth_type(auth_type: str, engine: str | None) -> bool:
    """True when ``auth_type`` is a known login type of another engine (basic for snmp, snmp_v3 for http)."""
    if engine is None or not auth_type:
        return False
    known = (*WEB_AUTH_TYPES, *SNMP_AUTH_TYPES)
    return auth_type in known and auth_type not in auth_types(engine)


def _v3(choice: EngineChoice) -> bool:
    return choice.auth_type == "snmp_v3"


RULES: dict[str, Callable[[str, EngineChoice], bool]] = {
    "auth_type": lambda engine, _: engine != "modbus",
    "username": lambda engine, choice: engine in WEB_ENGINES or (engine == "snmp" and _v3(choice)),
    "password": lambda engine, _: engine in WEB_ENGINES,
    "regex": lambda engine, _: engine in WEB_ENGINES,
    "version": lambda engine, choice: engine == "snmp" and not _v3(choice),
    "community": lambda engine, choice: engine == "snmp" and not _v3(choice),
    **dict.fromkeys(V3_FIELDS, lambda engine, choice: engine == "snmp" and _v3(choice)),
    "snmp_outlet": lambda engine, _: engine == "snmp",
    "snmp_unit": lambda engine, _: engine == "snmp",
    "unit_id": lambda engine, _: engine == "modbus",
    "framing": lambda engine, _: engine == "modbus",
}
"""Fields only some engines use, by field key; every other field applies to all engines."""


def shown(key: str, choice: EngineChoice) -> bool:
    """Whether the form shows field ``key`` for this choice."""
    rule = RULES.get(key)
    return rule is None or rule(choice.shown_engine, choice)


def unused(choice: EngineChoice, item: Any, paths: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The fields (of ``paths``, by key) whose keys in ``item`` the chosen engine has no use for: to remove."""
    if choice.engine is None:
        return []
    found = [key for key, path in paths.items() if get_path(item, path) is not None]
    drop = [key for key in found if key in RULES and not RULES[key](choice.engine, choice)]
    if "auth_type" in found and "auth_type" not in drop and wrong_auth_type(
            str(get_path(item, paths["auth_type"])), choice.engine):
        drop.append("auth_type")
    return drop


def whole_number_problem(text: str) -> str | None:
    """Why ``text`` is not a whole number (an outlet, a unit id), or None when it is one."""
    try:
        number = float(text.strip().replace(",", "."))
    except ValueError:
        return f"{text!r} is not a number"
    if not number.is_integer() or number < 0:
        return f"{text!r} is not a whole number (0, 1, 2 ...)"
    return None
