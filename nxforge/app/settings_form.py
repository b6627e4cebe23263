"""A module's settings form, generated from the manifest's setting specs (type -> widget).

Validation is a plain function so the rules are tested without a browser: secret settings take
only a ``${NAME}`` reference (the value itself never lands in nxforge.yaml), durations must parse.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from nxforge.app.formatting import plain
from nxforge.durations import parse_duration
from nxforge.module_system.manifest import SettingSpec

WHOLE_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


def validate_settings(specs: dict[str, SettingSpec], values: dict[str, Any]) -> dict[str, str]:
    """``{setting: problem}`` for every value that breaks its spec; empty when all are fine."""
    problems: dict[str, str] = {}
    for key, spec in specs.items():
        value = values.get(key)
        empty = value is None or (isinstance(value, str) and not value.strip())
        if empty:
            if spec.required:
                problems[key] = "required"
            continue
        if spec.secret and not (isinstance(value, str) and WHOLE_REFERENCE.match(value.strip())):
            problems[key] = "a secret takes a reference such as ${METER_PASSWORD}, never the value itself"
        elif spec.type == "duration":
            try:
                parse_duration(str(value))
            except ValueError as exc:
                problems[key] = str(exc)
        elif spec.type == "select" and spec.options is not None and value not in spec.options:
            problems[key] = f"choose one of {spec.options}"
    return problems


def settings_to_save(specs: dict[str, SettingSpec], values: dict[str, Any]) -> dict[str, Any]:
    """The values worth writing: those that differ from the default, and required ones."""
    kept: dict[str, Any] = {}
    for key, spec in specs.items():
        value = values.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "") and not spec.required:
            continue
        if spec.required or value != spec.default:
            kept[key] = value
    return kept


def setting_widget(form_key: str, key: str, spec: SettingSpec, current: Any) -> Any:
    """One input for one setting, chosen by its type; returns the value entered.

    The label and help come from the module's manifest (a ZIP anyone may offer): shown escaped.
    """
    label = plain(spec.label) + (" *" if spec.required else "")
    help_text = plain(spec.description) or None
    widget_key = f"{form_key}-{key}"
    if spec.secret:
        secret_help = "Secret: enter a ${NAME} reference; the value lives in the environment or secrets.yaml."
        return st.text_input(
            label,
            value=str(current or ""),
            key=widget_key,
            placeholder="${SECRET_NAME}",
            help=f"{help_text or ''} {plain(secret_help)}".strip(),
        )
    if spec.type == "boolean":
        return st.checkbox(label, value=bool(current), key=widget_key, help=help_text)
    if spec.type == "integer":
        return int(st.number_input(label, value=int(current or 0), step=1, key=widget_key, help=help_text))
    if spec.type == "number":
        return float(st.number_input(label, value=float(current or 0.0), key=widget_key, help=help_text))
    if spec.type == "select":
        options = list(spec.options or [])
        index = options.index(current) if current in options else 0
        return st.selectbox(label, options, index=index, key=widget_key, help=help_text)
    placeholder = "15m, 1h, 30s" if spec.type == "duration" else None
    return st.text_input(
        label, value="" if current is None else str(current), key=widget_key, help=help_text, placeholder=placeholder
    )
