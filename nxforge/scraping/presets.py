"""Vendor presets: YAML files that fill in a whole scrape config except the URL.

An endpoint names a preset and overrides only what differs (deep merge: mappings merge key by
key, everything else, lists included, is replaced), so a site with fifty APC PDUs writes the
steps and selectors once.
"""

from __future__ import annotations

import copy
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config.loader import load_yaml

SNMP_INDEXES = ("outlet", "unit")  # placeholders a preset's OIDs may hold: {outlet}, {unit}

log = logging.getLogger(__name__)

PRESET_DIR = Path(__file__).with_name("presets")
DOC_KEYS = ("description", "devices")  # documentation keys in a preset file, not config


class UnknownPresetError(ValueError):
    """The config names a preset that does not exist."""


def list_presets() -> list[str]:
    """Names of the presets that ship with NxForge, sorted."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))


def describe_preset(name: str) -> str:
    """The one-paragraph description at the top of a preset file."""
    return str(_read(name).get("description", ""))


@lru_cache(maxsize=64)
def _read(name: str) -> dict[str, Any]:
    path = PRESET_DIR / f"{name}.yaml"
    if "/" in name or "\\" in name or not path.is_file():
        raise UnknownPresetError(f"unknown preset `{name}`; known presets: {', '.join(list_presets())}")
    loaded = load_yaml(path).data or {}
    if not isinstance(loaded, dict):
        raise UnknownPresetError(f"preset file {path} is not a mapping")
    return loaded


def load_preset(name: str) -> dict[str, Any]:
    """The config part of preset ``name`` (a fresh copy, safe to mutate)."""
    return {k: copy.deepcopy(v) for k, v in _read(name).items() if k not in DOC_KEYS}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: nested mappings merge, other values replace."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_preset(data: dict[str, Any]) -> dict[str, Any]:
    """Expand ``preset:`` in a raw config mapping and fill its OIDs' indexes (unknown presets: validation says)."""
    name = data.get("preset")
    if not isinstance(name, str) or not name:
        return fill_indexes(data, {}, data)
    try:
        preset = load_preset(name)
    except UnknownPresetError:
        return data
    # A different auth type in the override replaces the preset's auth instead of merging into it.
    override_auth = data.get("auth")
    if isinstance(override_auth, dict) and "type" in override_auth:
        preset_auth = preset.get("auth")
        if isinstance(preset_auth, dict) and preset_auth.get("type") != override_auth["type"]:
            preset.pop("auth")
    return fill_indexes(data, preset, deep_merge(preset, data))


def fill_indexes(given: dict[str, Any], preset: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """``merged`` with ``snmp.outlet`` and ``snmp.unit`` put into the ``{outlet}``/``{unit}`` of its OIDs.

    An index the endpoint sets (``given``) with no place in its preset's OIDs nor its own is refused:
    a chained PDU's ``unit: 2`` on a preset without a unit index would read unit 1, silently. An
    OID the endpoint writes itself is used as written (a config read back and validated again too).
    """
    snmp, values = merged.get("snmp"), merged.get("values")
    if not isinstance(snmp, dict) or not isinstance(values, dict):
        return merged
    snmp = dict(snmp)  # copies of the levels filled in: the caller's mappings stay as they were
    values = {name: dict(spec) if isinstance(spec, dict) else spec for name, spec in values.items()}
    for spec in values.values():
        if isinstance(spec, dict) and isinstance(spec.get("counter"), dict):
            spec["counter"] = dict(spec["counter"])
    places = _oid_places(snmp, values)
    own = given["snmp"] if isinstance(given.get("snmp"), dict) else {}
    for index in SNMP_INDEXES:
        mark, value = f"{{{index}}}", snmp.get(index)
        holders = [(where, key) for where, key in places if mark in where[key]]
        if not holders:
            offered = any(mark in where[key] for where, key in _oid_places(preset.get("snmp"), preset.get("values")))
            if own.get(index) is not None and not offered:
                raise ValueError(f"snmp.{index}: no OID of this endpoint has a {mark} to fill (its preset reads "
                                 f"one fixed {index}); write values.<name>.selector with the index instead")
            continue
        if value is None:
            raise ValueError(f"the OIDs have a {mark}: set snmp.{index}")
        if not isinstance(value, int) or isinstance(value, bool):
            continue  # the model refuses it at its own field
        for where, key in holders:
            where[key] = where[key].replace(mark, str(value))
    return {**merged, "snmp": snmp, "values": values}


def _oid_places(snmp: Any, values: Any) -> list[tuple[dict[str, Any], str]]:
    """Where a config's OIDs are: the walk root, each value's selector and counter reset time."""
    places = [(snmp, "walk_root")] if isinstance(snmp, dict) else []
    for spec in values.values() if isinstance(values, dict) else []:
        if isinstance(spec, dict):
            places.append((spec, "selector"))
            if isinstance(spec.get("counter"), dict):
                places.append((spec["counter"], "reset_time"))
    return [(where, key) for where, key in places if isinstance(where.get(key), str)]
