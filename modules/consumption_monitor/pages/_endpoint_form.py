"""The Endpoints page's form: its fields and where each lives in the endpoint's YAML, the form's
values to and from an endpoint mapping (plain functions the tests call), and its inputs.

A field's value lives in session state under ``field_key(endpoint_id, field)``, the input's own key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from ruamel.yaml.comments import CommentedMap

from nxforge.sdk import UnknownPresetError, is_reference, list_presets, load_preset

from ..readings import ENERGY_VALUE

Kind = Literal["text", "select", "number", "bool", "secret"]


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
    FormField("url", ("scrape", "url"), "URL", required=True),
    FormField("engine", ("scrape", "engine"), "Engine", "select", options=("", "http", "browser"),
              help="http: plain pages and JSON (fast); browser: pages that need JavaScript, tabs or frames"),
    FormField("auth_type", ("scrape", "auth", "type"), "Login type", "select", options=("", *AUTH_TYPES)),
    FormField("username", ("scrape", "auth", "username"), "Login username"),
    FormField("password", ("scrape", "auth", "password"), "Password reference", "secret",
              help="A ${NAME} reference only; the password itself goes in the environment or config/secrets.yaml."),
    FormField("selector", (*VALUE_PATH, "selector"), f"{ENERGY_VALUE}: selector",
              help='CSS, "//..." XPath or "$..." JSONPath of the energy counter'),
    FormField("regex", (*VALUE_PATH, "regex"), f"{ENERGY_VALUE}: regex", help="group 1 = the number; empty = none"),
    FormField("unit", (*VALUE_PATH, "unit"), f"{ENERGY_VALUE}: unit", help="kWh, Wh or MWh; converted to kWh"),
)
FIELDS_BY_KEY = {field.key: field for field in FIELDS}


def get_path(data: Any, path: Iterable[str]) -> Any:
    """The value at ``path``, None when any part is missing."""
    current = data
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _set_path(data: CommentedMap, path: tuple[str, ...], value: Any) -> None:
    current: Any = data
    for part in path[:-1]:
        child = current.get(part)
        if not isinstance(child, dict):
            child = CommentedMap()
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
    if field.kind == "number":
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
    """``item`` with the form's values written in (in place); unchanged fields are left exactly as they were."""
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
        _set_path(item, field.path, new)
    return item


def form_problems(values: dict[str, Any]) -> dict[str, str]:
    """Problems the form catches before the YAML is even built, by field key."""
    problems: dict[str, str] = {}
    for field in FIELDS:
        if field.kind == "number" and str(values.get(field.key) or "").strip():
            try:
                float(str(values[field.key]).strip().replace(",", "."))
            except ValueError:
                problems[field.key] = f"{values[field.key]!r} is not a number"
    password = str(values.get("password") or "").strip()
    if password and not is_reference(password):
        problems["password"] = (
            "write a reference such as ${PDU_PASSWORD}, never the password itself; set the value in the "
            "environment or config/secrets.yaml"
        )
    return problems


def preset_defaults(item: Any) -> dict[str, str]:
    """What the endpoint's preset fills in for each form field it leaves empty (shown as placeholders)."""
    name = get_path(item, ("scrape", "preset"))
    if not isinstance(name, str) or not name:
        return {"engine": "browser"}
    try:
        preset = {"scrape": load_preset(name)}
    except UnknownPresetError:
        return {}
    shown = {"engine": str(get_path(preset, ("scrape", "engine")) or "browser")}
    for field in FIELDS:
        value = get_path(preset, field.path)
        if value is not None and field.key not in shown and field.kind in ("text", "select"):
            shown[field.key] = str(value)
    return shown


# --- the inputs ------------------------------------------------------------------------------------

LAYOUT = (("name", "client"), ("location", "feed"), ("poll_interval", "circuit_max_kw"), ("enabled",),
          ("preset", "engine"), ("url",), ("auth_type", "username", "password"), ("selector", "regex", "unit"))
"""The form's rows, top to bottom."""


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


def render_form(endpoint_id: str, placeholders: dict[str, str], problems: dict[str, str], default_poll: str) -> None:
    """The form's inputs, each with the preset's value as placeholder and its problem under it."""
    for row in LAYOUT:
        columns = st.columns(len(row))
        for column, name in zip(columns, row, strict=True):
            with column:
                _render_field(endpoint_id, FIELDS_BY_KEY[name], placeholders, default_poll)
                if name in problems:
                    st.error(problems[name])


def _render_field(endpoint_id: str, spec: FormField, placeholders: dict[str, str], default_poll: str) -> None:
    key = field_key(endpoint_id, spec.key)
    if spec.kind == "bool":
        st.checkbox(spec.label, key=key, help=spec.help)
    elif spec.kind == "select":
        options = list(spec.options)
        if st.session_state.get(key) not in options:
            options.append(str(st.session_state.get(key)))
        fallback = placeholders.get(spec.key)
        empty = f"(from preset: {fallback})" if fallback and spec.key != "preset" else "(none)"

        def label(value: str, empty: str = empty) -> str:
            return empty if value == "" else value

        st.selectbox(spec.label, options, key=key, format_func=label, help=spec.help)
    else:
        placeholder = placeholders.get(spec.key)
        if spec.key == "poll_interval":
            placeholder = f"module default: {default_poll}"
        elif spec.kind == "secret":
            placeholder = "${PDU_PASSWORD}"
        elif placeholder:
            placeholder = f"preset: {placeholder}"
        st.text_input(spec.label, key=key, help=spec.help, placeholder=placeholder)
