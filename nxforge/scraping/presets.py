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
    """Expand ``preset:`` in a raw config mapping; unknown presets are left for validation."""
    name = data.get("preset")
    if not isinstance(name, str) or not name:
        return data
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
    return deep_merge(preset, data)
