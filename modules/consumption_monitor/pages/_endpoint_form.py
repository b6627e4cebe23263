"""The Endpoints page's form: its fields and where each lives in the endpoint's YAML, the form's
values to and from an endpoint mapping (plain functions the tests call), and its inputs.

A field's value lives in session state under ``field_key(endpoint_id, field)``, the input's own key.
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
    PRUNED,
    SNMP_AUTH_LABELS,
    SNMP_AUTH_TYPES,
    FormContext,
    engine_problems,
    form_context,
    get_path,
    relevant,
    shown,
)

Kind = Literal["text", "select", "number", "bool", "secret", "outlet"]


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
AUTH_TYPES = ("none", "basic", "digest", "form", "cookie", "token")

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
    FormField("engine", ("scrape", "engine"), "Engine", "select", options=("", "http", "browser", "snmp", "modbus"),
              help="http: plain pages, JSON and Redfish (fast); browser: pages that need JavaScript, tabs or "
              "frames; snmp: PDUs over SNMP (snmp://HOST[:PORT]); modbus: meters over Modbus TCP (modbus://HOST[:PORT])"),
    FormField("url", ("scrape", "url"), "URL", required=True),
    FormField("auth_type", ("scrape", "auth", "type"), "Login type", "select",
              options=("", *AUTH_TYPES, *SNMP_AUTH_TYPES),
              help="For SNMP, the version: v1/v2c with a community, or v3 with a user and its keys"),
    FormField("username", ("scrape", "auth", "username"), "Login username", help="For SNMP v3, the USM user name"),
    FormField("password", ("scrape", "auth", "password"), "Password reference", "secret",
              help="A ${NAME} reference only; the password itself goes in the environment or config/secrets.yaml."),
    FormField("community", ("scrape", "auth", "community"), "SNMP community reference", "secret",
              help="A ${NAME} reference only: agents treat the community as a password."),
    FormField("auth_protocol", ("scrape", "auth", "auth_protocol"), "SNMP v3 auth protocol", "select",
              options=("", "SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5", "none")),
    FormField("auth_password", ("scrape", "auth", "auth_password"), "SNMP v3 auth key reference", "secret",
              help="A ${NAME} reference to the authentication password"),
    FormField("priv_protocol", ("scrape", "auth", "priv_protocol"), "SNMP v3 privacy protocol", "select",
              options=("", "AES", "AES192", "AES256", "DES", "3DES", "none")),
    FormField("priv_password", ("scrape", "auth", "priv_password"), "SNMP v3 privacy key reference", "secret",
              help="A ${NAME} reference to the privacy (encryption) password"),
    FormField("unit_id", ("scrape", "modbus", "unit_id"), "Modbus unit id", "number",
              help="1 for a meter on Modbus TCP itself; behind a gateway, the meter's RS-485 address (0-255)"),
    FormField("register_type", ("scrape", "modbus", "type"), "Register type", "select",
              options=("", "float32", "int64", "uint64", "int32", "uint32", "int16", "uint16", "float64")),
    FormField("word_order", ("scrape", "modbus", "word_order"), "Word order", "select", options=("", "big", "little"),
              help="big: high word first (most meters); little: low word first"),
    FormField("selector", (*VALUE_PATH, "selector"), f"{ENERGY_VALUE}: selector",
              help='CSS, "//..." XPath or "$..." JSONPath of the energy counter; an OID for SNMP; a register '
              "(holding:3203, input:0x48) for Modbus"),
    FormField("outlet", (*VALUE_PATH, "selector"), "Outlet", "outlet",
              help="The PDU outlet this endpoint reads and bills; written as the value's OID"),
    FormField("regex", (*VALUE_PATH, "regex"), f"{ENERGY_VALUE}: regex", help="group 1 = the number; empty = none"),
    FormField("unit", (*VALUE_PATH, "unit"), f"{ENERGY_VALUE}: unit", help="kWh, Wh or MWh; converted to kWh"),
    FormField("scale", (*VALUE_PATH, "scale"), f"{ENERGY_VALUE}: scale", "number",
              help="Multiplies the raw value (0.1 for tenths of a unit); empty = 1"),
)
FIELDS_BY_KEY = {field.key: field for field in FIELDS}


def _set_path(data: CommentedMap, path: tuple[str, ...], value: Any, flow: bool = False) -> None:
    """Set ``path``, creating the maps on the way (``flow``: new small maps as ``{a: 1}``, as SNMP and Modbus
    endpoints are written by hand; ``values:`` itself stays a block)."""
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


def _read(item: Any, spec: FormField, context: FormContext) -> Any:
    """The field's value in the YAML (an outlet field reads the outlet out of the value's OID)."""
    raw = get_path(item, spec.path)
    if spec.kind == "outlet":
        return context.outlet.outlet_of(raw) if context.outlet is not None else None
    return raw


def form_values(item: Any) -> dict[str, Any]:
    """The form's initial values from an endpoint mapping."""
    context = form_context({}, item)
    values: dict[str, Any] = {}
    for field in FIELDS:
        raw = _read(item, field, context)
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
    if field.kind in ("number", "outlet"):
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

    A field absent from ``values`` is left alone; a field the chosen engine has no use for is removed.
    """
    context = form_context(values, item)
    before = {field.key: _read(item, field, context) for field in FIELDS if field.key in values}
    for field in FIELDS:
        if field.key not in values:
            continue
        new = _normalised(field, values[field.key])
        if field.key in PRUNED and not relevant(field.key, context, new):
            new = None
        old = before[field.key]
        effective_old = field.default if old is None else old
        if _same(effective_old, new):
            continue
        if new is None or (field.default is not None and _same(new, field.default) and old is None):
            _delete_path(item, field.path)
            continue
        if field.kind == "outlet":
            if context.outlet is None:
                continue
            new = context.outlet.selector(int(new))
        current = get_path(item, field.path)
        if isinstance(current, str) and type(current) is not str and isinstance(new, str):
            new = type(current)(new)  # keep the value's quoting style
        elif field.kind in ("secret", "outlet") or (field.key == "selector" and context.protocol):
            new = DoubleQuotedScalarString(new)  # "${NAME}" and OIDs quoted, as the docs write them
        _set_path(item, field.path, new, flow=context.protocol)
    return item


SECRET_EXAMPLES = {"community": "${SNMP_COMMUNITY}", "auth_password": "${SNMP_AUTH_KEY}",
                   "priv_password": "${SNMP_PRIV_KEY}"}


def form_problems(values: dict[str, Any], creating: bool = False) -> dict[str, str]:
    """Problems the form catches before the YAML is even built, by field key (``creating``: a new endpoint,
    which must also say what its preset leaves to it)."""
    problems: dict[str, str] = {}
    for field in FIELDS:
        if field.kind == "number" and str(values.get(field.key) or "").strip():
            try:
                float(str(values[field.key]).strip().replace(",", "."))
            except ValueError:
                problems[field.key] = f"{values[field.key]!r} is not a number"
    context = form_context(values)
    for field in FIELDS:
        secret = str(values.get(field.key) or "").strip()
        if field.kind != "secret" or not secret or is_reference(secret):
            continue
        if field.key == "password" or relevant(field.key, context):
            what = "the password" if field.key == "password" else "the " + field.label.removesuffix(" reference")
            example = SECRET_EXAMPLES.get(field.key, "${PDU_PASSWORD}")
            problems[field.key] = (
                f"write a reference such as {example}, never {what} itself; set the value in the "
                "environment or config/secrets.yaml"
            )
    return engine_problems(values, creating) | problems


def preset_defaults(item: Any) -> dict[str, str]:
    """What the endpoint's preset fills in for each form field it leaves empty (shown as placeholders)."""
    context = form_context({}, item)
    shown_values = {"engine": str(context.preset.get("engine") or "browser")}
    preset = {"scrape": context.preset}
    if context.outlet is not None:
        shown_values["outlet"] = "1"
    for field in FIELDS:
        value = get_path(preset, field.path)
        if value is not None and field.key not in shown_values and field.kind not in ("bool", "outlet"):
            shown_values[field.key] = str(value)
    return shown_values


# --- the inputs ------------------------------------------------------------------------------------

LAYOUT = (("name", "client"), ("location", "feed"), ("poll_interval", "circuit_max_kw"), ("enabled",),
          ("preset", "engine"), ("url",), ("auth_type", "username", "password", "community"),
          ("auth_protocol", "auth_password", "priv_protocol", "priv_password"),
          ("outlet", "unit_id", "register_type", "word_order"), ("selector", "regex", "unit", "scale"))
"""The form's rows, top to bottom; a field the chosen engine has no use for is left out."""
URL_HINTS = {"snmp": "snmp://10.0.0.5 (port 161 unless given)", "modbus": "modbus://10.0.0.6 (port 502 unless given)"}
SELECTOR_LABELS = {"snmp": f"{ENERGY_VALUE}: OID", "modbus": f"{ENERGY_VALUE}: register"}


def fill_form(endpoint_id: str, item: Any, overwrite: bool = False) -> None:
    """Put the endpoint's values into the form's inputs (only where an input has none yet, unless ``overwrite``)."""
    for name, value in form_values(item).items():
        key = field_key(endpoint_id, name)
        if overwrite or key not in st.session_state:
            st.session_state[key] = value


def form_input(endpoint_id: str) -> dict[str, Any]:
    """What the form's inputs hold now, by field key (an input not drawn on the last run has none)."""
    return {f.key: st.session_state[key] for f in FIELDS if (key := field_key(endpoint_id, f.key)) in st.session_state}


def forget_form(endpoint_id: str) -> None:
    """Drop the form's inputs, so the next view fills them from the file again."""
    for spec in FIELDS:
        st.session_state.pop(field_key(endpoint_id, spec.key), None)


def render_form(endpoint_id: str, placeholders: dict[str, str], problems: dict[str, str], default_poll: str) -> None:
    """The inputs the chosen engine needs, each with the preset's value as placeholder and its problem under it."""
    values = form_input(endpoint_id)
    context = form_context(values)
    for row in LAYOUT:
        names = [name for name in row if name in problems or shown(name, context, values.get(name))]
        if not names:
            continue
        columns = st.columns(max(3, len(names)) if len(row) > 2 else len(names))
        for column, name in zip(columns, names, strict=False):
            with column:
                _render_field(endpoint_id, FIELDS_BY_KEY[name], placeholders, default_poll, context)
                if name in problems:
                    st.error(problems[name])
        if row == ("preset", "engine") and not str(values.get("engine") or "").strip():
            st.caption(plain(f"Reads with the {context.engine} engine" + (", from the preset." if context.preset
                                                                           else " (the default).")))


def _option_label(spec: FormField, value: str, empty: str) -> str:
    if value == "":
        return empty
    return SNMP_AUTH_LABELS.get(value, value) if spec.key == "auth_type" else value


def _render_field(endpoint_id: str, spec: FormField, placeholders: dict[str, str], default_poll: str,
                  context: FormContext) -> None:
    key = field_key(endpoint_id, spec.key)
    if spec.kind == "bool":
        st.checkbox(spec.label, key=key, help=spec.help)
    elif spec.kind == "select":
        options = list(spec.options)
        if st.session_state.get(key) not in options:
            options.append(str(st.session_state.get(key)))
        fallback = placeholders.get(spec.key)
        fallback_label = _option_label(spec, fallback, "") if fallback else ""
        empty = f"(from preset: {fallback_label})" if fallback and spec.key != "preset" else "(none)"

        def label(value: str, empty: str = empty) -> str:
            return _option_label(spec, value, empty)

        st.selectbox(spec.label, options, key=key, format_func=label, help=spec.help)
    else:
        placeholder = placeholders.get(spec.key)
        if spec.key == "poll_interval":
            placeholder = f"module default: {default_poll}"
        elif spec.key == "url" and context.engine in URL_HINTS:
            placeholder = URL_HINTS[context.engine]
        elif spec.kind == "secret":
            placeholder = f"preset: {placeholder}" if placeholder else SECRET_EXAMPLES.get(spec.key, "${PDU_PASSWORD}")
        elif placeholder:
            placeholder = f"preset: {placeholder}"
        title = SELECTOR_LABELS.get(context.engine, spec.label) if spec.key == "selector" else spec.label
        st.text_input(title, key=key, help=spec.help, placeholder=placeholder)
