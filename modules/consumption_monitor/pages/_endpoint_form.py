"""The Endpoints page's form: its fields and where each lives in the endpoint's YAML, the form's
values to and from an endpoint mapping (plain functions the tests call), and its inputs.

A field's value lives in session state under ``field_key(endpoint_id, field)``, the input's own key.
Which fields an engine (http, browser, snmp, modbus) uses, and so which are shown and which keys a
change of engine removes, is decided in ``_endpoint_engines.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from nxforge.sdk import is_reference, list_presets, plain

from ..readings import ENERGY_VALUE
from ._endpoint_engines import (
    AUTH_PROTOCOLS,
    ENGINES,
    FRAMINGS,
    PRIV_PROTOCOLS,
    SNMP_AUTH_TYPES,
    SNMP_VERSIONS,
    WEB_AUTH_TYPES,
    EngineChoice,
    auth_types,
    engine_choice,
    get_path,
    shown,
    unused,
    whole_number_problem,
    wrong_auth_type,
)

Kind = Literal["text", "select", "number", "int", "bool", "secret"]


def widget_key(endpoint_id: str, name: str) -> str:
    """The key of one input of an endpoint's editor (``ep-<id>-<name>``): what Streamlit keeps its value under."""
    return f"ep-{endpoint_id}-{name}"


def field_key(endpoint_id: str, field_name: str) -> str:
    """The key of a form field's input."""
    return widget_key(endpoint_id, f"f-{field_name}")


@dataclass(frozen=True)
class FormField:
    """One input of the endpoint form and where its value lives in the endpoint's YAML."""

    key: str
    path: tuple[str, ...]
    label: str
    kind: Kind = "text"
    required: bool = False
    options: tuple[str, ...] = ()
    default: Any = None
    """The value an absent key means (``enabled`` is true unless it says otherwise)."""
    help: str | None = None


VALUE_PATH = ("scrape", "values", ENERGY_VALUE)
AUTH_PATH = ("scrape", "auth")
REFERENCE_HELP = "A ${NAME} reference only; the value itself goes in the environment or config/secrets.yaml."

FIELDS: tuple[FormField, ...] = (
    FormField("name", ("name",), "Name", required=True),
    FormField("client", ("client",), "Client", required=True,
              help="The client billed from now on; with client_history, also change its last entry (YAML view)."),
    FormField("location", ("location",), "Location"),
    FormField("feed", ("feed",), "Feed", "select", options=("", "A", "B")),
    FormField("poll_interval", ("poll_interval",), "Poll interval", help="15m, 1h, 30s; empty = module default"),
    FormField("circuit_max_kw", ("circuit_max_kw",), "Circuit rating (kW)", "number",
              help="A jump implying more power than this is flagged and left out of billing; empty = no check"),
    FormField("enabled", ("enabled",), "Enabled (read by the collector)", "bool", default=True),
    FormField("preset", ("scrape", "preset"), "Vendor preset", "select", options=("", *list_presets())),
    FormField("url", ("scrape", "url"), "URL", required=True),
    FormField("engine", ("scrape", "engine"), "Engine", "select", options=("", *ENGINES),
              help="http: plain pages, JSON and Redfish (fast); browser: pages that need JavaScript, tabs or "
              "frames; snmp: PDUs over SNMP (snmp://HOST[:PORT]); modbus: meters over Modbus TCP (modbus://HOST[:PORT])"),
    FormField("auth_type", (*AUTH_PATH, "type"), "Login type", "select",
              options=("", *WEB_AUTH_TYPES, *SNMP_AUTH_TYPES),
              help="For SNMP: snmp_community (v1/v2c) or snmp_v3 (a user and its keys)"),
    FormField("username", (*AUTH_PATH, "username"), "Login username"),
    FormField("password", (*AUTH_PATH, "password"), "Password reference", "secret",
              help="A ${NAME} reference only; the password itself goes in the environment or config/secrets.yaml."),
    FormField("version", (*AUTH_PATH, "version"), "SNMP version", "select", options=("", *SNMP_VERSIONS)),
    FormField("community", (*AUTH_PATH, "community"), "Community reference", "secret",
              help=REFERENCE_HELP + " Agents treat the community as a password."),
    FormField("auth_protocol", (*AUTH_PATH, "auth_protocol"), "SNMP v3 auth protocol", "select",
              options=("", *AUTH_PROTOCOLS)),
    FormField("auth_password", (*AUTH_PATH, "auth_password"), "Auth password reference", "secret",
              help=REFERENCE_HELP),
    FormField("priv_protocol", (*AUTH_PATH, "priv_protocol"), "SNMP v3 privacy protocol", "select",
              options=("", *PRIV_PROTOCOLS)),
    FormField("priv_password", (*AUTH_PATH, "priv_password"), "Privacy password reference", "secret",
              help=REFERENCE_HELP),
    FormField("context", (*AUTH_PATH, "context"), "SNMP v3 context", help="Empty for most PDUs"),
    FormField("snmp_outlet", ("scrape", "snmp", "outlet"), "Outlet", "int",
              help="The outlet an outlet preset reads (fills {outlet} in its OIDs): one endpoint per outlet"),
    FormField("snmp_unit", ("scrape", "snmp", "unit"), "PDU unit in the chain", "int",
              help="The PDU's index when PDUs are chained behind one address (fills {unit} in the preset's OIDs)"),
    FormField("unit_id", ("scrape", "modbus", "unit_id"), "Modbus unit id", "int",
              help="1 for a meter on Modbus TCP itself; behind a gateway, the meter's address (0-255; 1-247 on RTU)"),
    FormField("framing", ("scrape", "modbus", "framing"), "Modbus framing", "select", options=("", *FRAMINGS),
              help="tcp: Modbus TCP; rtu: RTU frames through a serial-to-Ethernet converter in transparent mode"),
    FormField("selector", (*VALUE_PATH, "selector"), f"{ENERGY_VALUE}: selector",
              help='CSS, "//..." XPath or "$..." JSONPath of the energy counter; an OID for SNMP; a register '
              "(holding:3203, input:0x48) for Modbus"),
    FormField("regex", (*VALUE_PATH, "regex"), f"{ENERGY_VALUE}: regex", help="group 1 = the number; empty = none"),
    FormField("unit", (*VALUE_PATH, "unit"), f"{ENERGY_VALUE}: unit", help="kWh, Wh or MWh; converted to kWh"),
)
FIELDS_BY_KEY = {field.key: field for field in FIELDS}


def _set_path(data: CommentedMap, path: tuple[str, ...], value: Any, flow: bool = False) -> None:
    """Set ``path``, making the maps on the way (``flow``: a new small map as ``{a: 1}``, as the docs write an
    SNMP or Modbus endpoint's ``auth``, ``snmp`` and ``modbus``; ``scrape`` and ``values`` stay blocks)."""
    current: Any = data
    for part in path[:-1]:
        child = current.get(part)
        if not isinstance(child, dict):
            child = CommentedMap()
            if flow and part not in ("scrape", "values"):
                child.fa.set_flow_style()
            _insert(current, part, child)
        current = child
    _insert(current, path[-1], value)


def _insert(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``key``; a new top-level key goes before ``scrape:`` so the file reads in the usual order."""
    if key in mapping or "scrape" not in mapping or key == "scrape":
        mapping[key] = value
    else:
        mapping.insert(list(mapping).index("scrape"), key, value)


def _delete_path(data: CommentedMap, path: tuple[str, ...]) -> None:
    parents: list[tuple[CommentedMap, str]] = []
    current: Any = data
    for part in path[:-1]:
        child = current.get(part)
        if not isinstance(child, dict):
            return
        parents.append((current, part))
        current = child
    current.pop(path[-1], None)
    for parent, part in reversed(parents):  # drop maps left empty (never scrape itself)
        if part != "scrape" and isinstance(parent.get(part), dict) and not parent[part]:
            parent.pop(part)


def form_values(item: Any) -> dict[str, Any]:
    """The form's initial values from an endpoint mapping."""
    values: dict[str, Any] = {}
    for field in FIELDS:
        raw = get_path(item, field.path)
        if field.kind == "bool":
            values[field.key] = field.default if raw is None else bool(raw)
        else:
            values[field.key] = "" if raw is None else str(raw)
    return values


def _normalised(field: FormField, value: Any) -> Any:
    if field.kind == "bool":
        return bool(value)
    text = str(value if value is not None else "").strip()
    if not text:
        return "" if field.required else None
    if field.kind in ("number", "int"):
        number = float(text.replace(",", "."))
        return int(number) if number.is_integer() else number
    return text


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new or (isinstance(old, bool) and isinstance(new, bool) and old == new)
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) == float(new)
    if old is None or new is None:
        return old is None and new is None
    return str(old) == str(new)


def apply_form(item: CommentedMap, values: dict[str, Any]) -> CommentedMap:
    """``item`` with the form's values written in (in place); unchanged fields are left exactly as they were.

    A field absent from ``values`` keeps the file's value; a managed key the chosen engine has no use for
    (``_endpoint_engines.unused``) is removed, present in ``values`` or not.
    """
    choice = engine_choice(values, item)
    flow = choice.engine in ("snmp", "modbus")
    for field in FIELDS:
        if field.key not in values:
            continue
        new = _normalised(field, values[field.key])
        old = get_path(item, field.path)
        effective_old = field.default if old is None else old
        if _same(effective_old, new):
            continue
        if new is None or (field.default is not None and _same(new, field.default) and old is None):
            _delete_path(item, field.path)
            continue
        if isinstance(old, str) and type(old) is not str and isinstance(new, str):
            new = type(old)(new)  # keep the value's quoting style
        elif flow and (field.kind == "secret" or field.key == "selector") and isinstance(new, str):
            new = DoubleQuotedScalarString(new)  # "${NAME}" and "1.3.6...", as the docs write them
        _set_path(item, field.path, new, flow=flow)
    for key in unused(choice, item, {field.key: field.path for field in FIELDS}):
        _delete_path(item, FIELDS_BY_KEY[key].path)
    return item


SECRET_EXAMPLES = {"password": "${PDU_PASSWORD}", "community": "${SNMP_COMMUNITY}",
                   "auth_password": "${SNMP_AUTH_KEY}", "priv_password": "${SNMP_PRIV_KEY}"}
SNMP_SECRETS = ("community", "auth_password", "priv_password")
"""Secrets whose preset reference is shown as the placeholder (the preset's ``${SNMP_COMMUNITY}`` is the default)."""
SECRET_NAMES = {"password": "the password", "community": "the community", "auth_password": "the auth password",
                "priv_password": "the privacy password"}


def form_problems(values: dict[str, Any]) -> dict[str, str]:
    """Problems the form catches before the YAML is even built, by field key (fields the engine uses)."""
    choice = engine_choice(values)
    problems: dict[str, str] = {}
    for field in FIELDS:
        text = str(values.get(field.key) or "").strip()
        if not text or not shown(field.key, choice):
            continue
        if field.kind == "number":
            try:
                float(text.replace(",", "."))
            except ValueError:
                problems[field.key] = f"{values[field.key]!r} is not a number"
        elif field.kind == "int" and (problem := whole_number_problem(text)) is not None:
            problems[field.key] = problem
        elif field.kind == "secret" and not is_reference(text):
            problems[field.key] = (
                f"write a reference such as {SECRET_EXAMPLES[field.key]}, never {SECRET_NAMES[field.key]} itself; "
                "set the value in the environment or config/secrets.yaml"
            )
    return problems


def preset_defaults(item: Any) -> dict[str, str]:
    """What the endpoint's preset fills in for each form field it leaves empty (shown as placeholders)."""
    choice = engine_choice({}, {"scrape": {"preset": get_path(item, ("scrape", "preset"))}})
    if choice.engine is None:
        return {}
    preset = {"scrape": choice.preset}
    defaults = {"engine": str(choice.preset.get("engine") or "browser")}
    for field in FIELDS:
        value = get_path(preset, field.path)
        if value is not None and field.key not in defaults and (
                field.kind in ("text", "select", "int") or field.key in SNMP_SECRETS):
            defaults[field.key] = str(value)
    return defaults


# --- the inputs ------------------------------------------------------------------------------------

LAYOUT = (("name", "client"), ("location", "feed"), ("poll_interval", "circuit_max_kw"), ("enabled",),
          ("preset", "engine"), ("url",), ("auth_type", "username", "password"), ("version", "community"),
          ("auth_protocol", "auth_password"), ("priv_protocol", "priv_password", "context"),
          ("snmp_outlet", "snmp_unit"),
          ("unit_id", "framing"), ("selector", "regex", "unit"))
"""The form's rows, top to bottom; a field the effective engine has no use for is left out."""
URL_HINTS = {"snmp": "snmp://10.0.0.5 (port 161 unless given)", "modbus": "modbus://10.0.0.6 (port 502 unless given)"}
ENGINE_LABELS = {("snmp", "username"): "SNMP v3 user", ("snmp", "selector"): f"{ENERGY_VALUE}: OID",
                 ("modbus", "selector"): f"{ENERGY_VALUE}: register"}


def fill_form(endpoint_id: str, item: Any, overwrite: bool = False) -> None:
    """Put the endpoint's values into the form's inputs (only where an input has none yet, unless ``overwrite``)."""
    for name, value in form_values(item).items():
        key = field_key(endpoint_id, name)
        if overwrite or key not in st.session_state:
            st.session_state[key] = value


def form_input(endpoint_id: str) -> dict[str, Any]:
    """What the form's inputs hold now, by field key; an input with no state is left out, never taken as cleared.

    Streamlit drops a widget's state when a run ends without drawing it (a run cut short by the next
    click, under load): read as None, such an input deleted its field from the file on Save (a saved
    draft lost its feed and its preset). Left out, ``apply_form`` keeps the file's value.
    """
    keys = {f.key: field_key(endpoint_id, f.key) for f in FIELDS}
    return {name: st.session_state[key] for name, key in keys.items() if key in st.session_state}


def forget_form(endpoint_id: str) -> None:
    """Drop the form's inputs, so the next view fills them from the file again."""
    for spec in FIELDS:
        st.session_state.pop(field_key(endpoint_id, spec.key), None)


def render_form(endpoint_id: str, placeholders: dict[str, str], problems: dict[str, str], default_poll: str,
                item: Any = None) -> None:
    """The inputs the effective engine uses (Engine, else the preset's), each with the preset's value as
    placeholder and its problem under it; ``item``, the endpoint as drafted, answers for an input with no state."""
    choice = engine_choice(form_input(endpoint_id), item)
    auth_key = field_key(endpoint_id, "auth_type")
    if wrong_auth_type(str(st.session_state.get(auth_key) or ""), choice.engine):
        st.session_state[auth_key] = ""  # basic under snmp: apply_form drops it, so the select says so too
    for row in LAYOUT:
        names = [name for name in row if name in problems or shown(name, choice)]
        if not names:
            continue
        for column, name in zip(st.columns(len(row)), names, strict=False):
            with column:
                _render_field(endpoint_id, FIELDS_BY_KEY[name], placeholders, default_poll, choice)
                if name in problems:
                    st.error(problems[name])
        if row == ("preset", "engine") and not str(st.session_state.get(field_key(endpoint_id, "engine")) or ""):
            source = "from the preset" if choice.preset else "the default"
            st.caption(plain(f"Reads with the {choice.shown_engine} engine ({source})."))


def _render_field(endpoint_id: str, spec: FormField, placeholders: dict[str, str], default_poll: str,
                  choice: EngineChoice) -> None:
    key = field_key(endpoint_id, spec.key)
    label = ENGINE_LABELS.get((choice.shown_engine, spec.key), spec.label)
    if spec.kind == "bool":
        st.checkbox(label, key=key, help=spec.help)
    elif spec.kind == "select":
        options = list(spec.options)
        if spec.key == "auth_type":
            options = ["", *auth_types(choice.shown_engine)]
        if st.session_state.get(key) not in options:
            options.append(str(st.session_state.get(key)))
        fallback = placeholders.get(spec.key)
        empty = f"(from preset: {fallback})" if fallback and spec.key != "preset" else "(none)"

        def option_label(value: str, empty: str = empty) -> str:
            return empty if value == "" else value

        st.selectbox(label, options, key=key, format_func=option_label, help=spec.help)
    else:
        placeholder = placeholders.get(spec.key)
        if spec.key == "poll_interval":
            placeholder = f"module default: {default_poll}"
        elif spec.key == "url" and choice.shown_engine in URL_HINTS:
            placeholder = URL_HINTS[choice.shown_engine]
        elif spec.kind == "secret":
            placeholder = f"preset: {placeholder}" if placeholder else SECRET_EXAMPLES[spec.key]
        elif placeholder:
            placeholder = f"preset: {placeholder}"
        st.text_input(label, key=key, help=spec.help, placeholder=placeholder)
