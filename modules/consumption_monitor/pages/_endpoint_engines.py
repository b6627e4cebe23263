"""What the endpoint form shows and writes for each engine: which fields an SNMP or Modbus endpoint
needs, given its engine, its SNMP security and its preset; and an outlet preset's outlet number,
which the YAML writes as the value's OID (``...4.1.<outlet>.8`` for a Raritan PDU).

The outlet presets say in their description where the outlet goes (``set values.total_kwh.selector
to `...4.1.<n>.8```) and read outlet 1; the form takes that sentence as the template, so a new
outlet preset needs no change here. Plain functions without Streamlit, which the tests call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nxforge.sdk import UnknownPresetError, describe_preset, load_preset

from ..readings import ENERGY_VALUE

WEB_ENGINES = ("http", "browser")
PROTOCOL_ENGINES = ("snmp", "modbus")
SNMP_AUTH_TYPES = ("snmp_community", "snmp_v3")
SNMP_AUTH_LABELS = {"snmp_community": "SNMP v1/v2c: community", "snmp_v3": "SNMP v3: user and keys"}
SELECTOR_PATH = ("scrape", "values", ENERGY_VALUE, "selector")
OUTLET_NOTE = re.compile(r"`\.\.\.(?P<before>[\d.]*)<n>(?P<after>[\d.]*)`")

PRUNED = frozenset({"auth_type", "username", "password", "community", "auth_protocol", "auth_password",
                    "priv_protocol", "priv_password", "unit_id", "register_type", "word_order", "regex"})
"""Fields whose YAML key the form removes when the chosen engine or SNMP security has no use for it
(a v2c community left over after choosing v3 would make the endpoint invalid)."""


def get_path(data: Any, path: Iterable[str]) -> Any:
    """The value at ``path``, None when any part is missing."""
    current = data
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


@dataclass(frozen=True)
class Outlet:
    """Where an outlet preset puts the outlet number in the value's OID: ``prefix<n>suffix``."""

    prefix: str
    suffix: str

    def selector(self, outlet: int) -> str:
        """The OID of outlet ``outlet``."""
        return f"{self.prefix}{outlet}{self.suffix}"

    def outlet_of(self, selector: Any) -> int | None:
        """The outlet an OID names, None when it is not this table's."""
        text = str(selector or "").strip().lstrip(".")
        if not (text.startswith(self.prefix) and text.endswith(self.suffix)):
            return None
        middle = text[len(self.prefix): len(text) - len(self.suffix)]
        return int(middle) if middle.isdigit() else None


def outlet_template(preset_name: str | None) -> Outlet | None:
    """The outlet template of an SNMP outlet preset (from its description and its outlet-1 OID), else None."""
    if not preset_name:
        return None
    try:
        preset = load_preset(preset_name)
        note = OUTLET_NOTE.search(describe_preset(preset_name))
    except UnknownPresetError:
        return None
    selector = str(get_path({"scrape": preset}, SELECTOR_PATH) or "")
    if note is None or preset.get("engine") != "snmp":
        return None
    tail = "1" + note["after"]
    if not selector.endswith(note["before"] + tail):
        return None
    return Outlet(selector[: len(selector) - len(note["after"]) - 1], note["after"])


@dataclass(frozen=True)
class FormContext:
    """What decides the fields shown: the engine, SNMP security and preset the form says (or the preset's)."""

    engine: str
    auth_type: str
    preset: dict[str, Any]
    outlet: Outlet | None

    @property
    def protocol(self) -> bool:
        """True for SNMP and Modbus, whose small maps are written in flow style as the docs write them."""
        return self.engine in PROTOCOL_ENGINES


def form_context(values: Mapping[str, Any], item: Any = None) -> FormContext:
    """The context of the form's ``values``; a key the values lack is taken from ``item`` (the endpoint's YAML)."""

    def said(key: str, path: tuple[str, ...]) -> str:
        raw = values[key] if key in values else get_path(item, path)
        return str(raw or "").strip()

    name = said("preset", ("scrape", "preset"))
    try:
        preset = load_preset(name) if name else {}
    except UnknownPresetError:
        preset = {}
    engine = said("engine", ("scrape", "engine")) or str(preset.get("engine") or "browser")
    auth_type = said("auth_type", ("scrape", "auth", "type")) or str(get_path(preset, ("auth", "type")) or "none")
    return FormContext(engine, auth_type, preset, outlet_template(name) if engine == "snmp" else None)


def _preset_fixes(context: FormContext, *paths: tuple[str, ...]) -> bool:
    return any(get_path(context.preset, path) is not None for path in paths)


def relevant(key: str, context: FormContext, value: Any = None) -> bool:
    """Whether the form shows (and writes) field ``key`` for this engine, SNMP security and preset."""
    engine, snmp = context.engine, context.engine == "snmp"
    v3 = snmp and context.auth_type == "snmp_v3"
    has_value = value not in (None, "")
    rules = {
        "auth_type": engine != "modbus",
        "username": engine in WEB_ENGINES or v3,
        "password": engine in WEB_ENGINES,
        "regex": engine in WEB_ENGINES,
        "community": snmp and context.auth_type == "snmp_community",
        "auth_protocol": v3, "auth_password": v3, "priv_protocol": v3, "priv_password": v3,
        "outlet": context.outlet is not None,
        "selector": context.outlet is None,
        "unit_id": engine == "modbus",
        "register_type": engine == "modbus" and (has_value or not _preset_fixes(context, ("modbus", "type"))),
        "word_order": engine == "modbus" and (has_value or not _preset_fixes(context, ("modbus", "word_order"))),
        "scale": has_value or (engine == "modbus" and not _preset_fixes(
            context, ("values", ENERGY_VALUE, "scale"), ("values", ENERGY_VALUE, "counter", "unit"))),
    }
    return rules.get(key, True)


def shown(key: str, context: FormContext, value: Any) -> bool:
    """Whether the form draws field ``key``: when relevant, or when it holds a value the form would keep."""
    if relevant(key, context, value):
        return True
    if key == "selector":  # the outlet number stands for it, unless the OID is not one of the preset's outlets
        return value not in (None, "") and context.outlet is not None and context.outlet.outlet_of(value) is None
    return key not in PRUNED and key != "outlet" and value not in (None, "")


def whole_number(text: str, low: int, high: int | None = None) -> int | None:
    """``text`` as an integer within [low, high], None when it is not one."""
    try:
        number = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    if not number.is_integer() or number < low or (high is not None and number > high):
        return None
    return int(number)


def engine_problems(values: Mapping[str, Any], creating: bool) -> dict[str, str]:
    """Problems of the SNMP and Modbus fields by field key; ``creating``: an endpoint must say what its preset
    cannot (which outlet, which unit id)."""
    context = form_context(values)
    problems: dict[str, str] = {}
    outlet = str(values.get("outlet") or "").strip()
    if relevant("outlet", context) and outlet and whole_number(outlet, 1) is None:
        problems["outlet"] = f"{outlet!r} is not an outlet number: 1, 2, 3 ..."
    elif relevant("outlet", context) and creating and not outlet:
        problems["outlet"] = ("required: the outlet this endpoint bills (the preset alone reads outlet 1); "
                              "one endpoint per outlet")
    unit_id = str(values.get("unit_id") or "").strip()
    if relevant("unit_id", context) and unit_id and whole_number(unit_id, 0, 255) is None:
        problems["unit_id"] = f"{unit_id!r} is not a unit id: a whole number from 0 to 255"
    elif relevant("unit_id", context) and creating and not unit_id:
        problems["unit_id"] = ("required: the meter's Modbus unit id (1 for a meter on TCP itself; behind a "
                               "gateway, the meter's RS-485 address)")
    return problems
