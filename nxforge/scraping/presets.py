"""Vendor presets: YAML files that fill in a whole scrape config except the URL.

An endpoint names a preset and overrides only what differs (deep merge: mappings merge key by
key, everything else, lists included, is replaced), so a site with fifty APC PDUs writes the
steps and selectors once.
"""

from __future__ import annotations

import copy
import logging
import re
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

    An OID the endpoint writes in place of its preset's is used as written, and, when it is the
    preset's OID for another index, it sets that index (so the preset's other OIDs, the reset time's
    among them, read the same outlet or unit); an index it contradicts is refused. A written selector
    of another shape drops the preset's reset time for that value, which dates another counter. An
    index the endpoint sets with no place in its preset's OIDs nor its own is refused: a chained
    PDU's ``unit: 2`` on a preset without a unit index would read unit 1, silently. A config read
    back and validated again (the sync, the form editor) gives the same config.
    """
    snmp, values = merged.get("snmp"), merged.get("values")
    if not isinstance(values, dict) or (not isinstance(snmp, dict) and merged.get("engine") != "snmp"):
        return merged
    snmp = dict(snmp) if isinstance(snmp, dict) else {}  # copies of the levels filled in: the caller's are kept
    values = {name: dict(spec) if isinstance(spec, dict) else spec for name, spec in values.items()}
    for spec in values.values():
        if isinstance(spec, dict) and isinstance(spec.get("counter"), dict):
            spec["counter"] = dict(spec["counter"])
    own = given["snmp"] if isinstance(given.get("snmp"), dict) else {}
    snmp.update(_written_indexes(given, preset, own, values))
    places = list(_oid_places(snmp, values).values())
    for index in SNMP_INDEXES:
        mark, value = f"{{{index}}}", snmp.get(index)
        holders = [(where, key) for where, key in places if mark in where[key]]
        if not holders:
            offered = any(mark in text for text in _oid_texts(preset).values())
            if own.get(index) is not None and not offered:
                raise ValueError(f"snmp.{index}: no OID of this endpoint has a {mark} to fill (its preset, if any, "
                                 f"reads one fixed {index}); write values.<name>.selector with the index instead")
            continue
        if value is None:
            raise ValueError(f"the OIDs have a {mark}: set snmp.{index}")
        value = snmp[index] = _whole(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"snmp.{index} must be a whole number, not {value!r}")
        for where, key in holders:
            where[key] = where[key].replace(mark, str(value))
    return {**merged, **({"snmp": snmp} if snmp or "snmp" in merged else {}), "values": values}


def _written_indexes(given: dict[str, Any], preset: dict[str, Any], own: dict[str, Any],
                     values: dict[str, Any]) -> dict[str, int]:
    """The indexes the endpoint's own OIDs imply where they take the shape of its preset's.

    Drops, from ``values``, a preset's reset time beside a selector the endpoint wrote in another shape,
    and refuses that reset time written out in the preset's shape (a copied config whose selector alone
    was changed): either way it dates another counter.
    """
    templates, written = _oid_texts(preset), _oid_texts(given)
    implied = dict[str, tuple[int, str]]()
    for path, text in written.items():
        template = templates.get(path)
        if template is None or not any(f"{{{index}}}" in template for index in SNMP_INDEXES):
            continue
        found = _indexes_in(template, text)
        reset = (*path[:-1], "counter", "reset_time")
        if found is None and path[-1] == "selector" and reset in templates:  # another object than the preset's
            if reset in written and _indexes_in(templates[reset], written[reset]) is not None:
                raise ValueError(f"values.{path[1]}.counter.reset_time is the preset's for its own object, not for "
                                 f"values.{path[1]}.selector {text}: write that object's reset time, or none")
            counter = values[path[1]].get("counter")
            if reset not in written and isinstance(counter, dict):
                counter.pop("reset_time", None)
        for index, number in (found or {}).items():
            where, set_here = ".".join(path), _whole(own.get(index))
            if set_here is not None and set_here != number:
                raise ValueError(f"{where} reads {index} {number} but snmp.{index} is {set_here}: write "
                                 f"{template} (or leave {where} to the preset) to read {index} {set_here}")
            if implied.setdefault(index, (number, where))[0] != number:
                raise ValueError(f"{where} reads {index} {number} but {implied[index][1]} reads {index} "
                                 f"{implied[index][0]}: one endpoint reads one {index}")
    return {index: number for index, (number, _) in implied.items()}


def _whole(value: Any) -> Any:
    """``"3"`` (a quoted index, a form's text) as 3; anything else as it is."""
    return int(value) if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() else value


def _indexes_in(template: str, text: str) -> dict[str, int] | None:
    """The indexes ``text`` holds where ``template`` has placeholders (a placeholder kept as it is holds
    none); None when it has another shape. Leading dots and spaces do not count (``.1.3.6...``)."""
    pattern = re.escape(template.strip().lstrip("."))
    for index in SNMP_INDEXES:
        mark = re.escape(f"{{{index}}}")
        pattern = (pattern.replace(mark, f"(?:(?P<{index}>[0-9]+)|{mark})", 1)
                   .replace(mark, f"(?:(?P={index})|{mark})"))
    match = re.fullmatch(pattern, text.strip().lstrip("."))
    if match is None:
        return None
    return {key: int(value) for key, value in match.groupdict().items() if value is not None}


def _oid_texts(config: dict[str, Any]) -> dict[tuple[str, ...], str]:
    """A config mapping's OIDs by where they are: the walk root, each value's selector and reset time."""
    return {path: where[key] for path, (where, key) in _oid_places(config.get("snmp"), config.get("values")).items()}


def _oid_places(snmp: Any, values: Any) -> dict[tuple[str, ...], tuple[dict[str, Any], str]]:
    """Where a config's OIDs are, by path: the mapping and key of the walk root, each value's selector and
    counter reset time (the mapping, so the caller can fill the OID in place)."""
    places: dict[tuple[str, ...], tuple[dict[str, Any], str]] = {}
    if isinstance(snmp, dict):
        places["snmp", "walk_root"] = (snmp, "walk_root")
    for name, spec in values.items() if isinstance(values, dict) else []:
        if isinstance(spec, dict):
            places["values", name, "selector"] = (spec, "selector")
            if isinstance(spec.get("counter"), dict):
                places["values", name, "counter", "reset_time"] = (spec["counter"], "reset_time")
    return {path: (where, key) for path, (where, key) in places.items() if isinstance(where.get(key), str)}
