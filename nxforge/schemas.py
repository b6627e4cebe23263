"""``nxforge schema``: JSON Schemas of every YAML file, generated from the pydantic models.

Editors use them (a ``# yaml-language-server: $schema=...`` line at the top of each config) to
autocomplete and underline mistakes before ``nxforge config check`` runs; the configuration
reference in ``docs/configuration.md`` is rendered from them. The models stay the single source
of truth: a test fails when a committed schema drifts from its model.

Two things pydantic cannot see are patched in here, because an editor would otherwise underline
valid files: a scrape config naming a ``preset`` gets its ``values`` and ``auth`` from the preset
(so they may be absent or partial), and ``modules.settings`` of ``nxforge.yaml`` is typed per
module from the manifests' setting specs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nxforge.config.models import CoreConfig
from nxforge.module_system.discovery import discover_modules
from nxforge.module_system.loading import resolve_handler
from nxforge.module_system.manifest import Manifest, SettingSpec
from nxforge.notifications.config import NotificationsConfig
from nxforge.scraping.presets import list_presets

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SUFFIX = ".schema.json"
SETTING_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "duration": {"anyOf": [{"type": "string", "pattern": r"^\d+(\.\d+)?\s*(s|m|h|d)$"}, {"type": "number"}]},
}


class CoreFileSchema(CoreConfig):
    """``nxforge.yaml`` as an editor sees it: the core keeps ``notifications`` as plain data, typed here."""

    model_config = ConfigDict(title="CoreConfig", json_schema_extra={"description": CoreConfig.__doc__})
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)  # type: ignore[assignment]


def core_models() -> dict[str, type[BaseModel]]:
    """The core's own files: ``nxforge.yaml``, ``users.yaml`` and module manifests."""
    from nxforge.auth.users import UsersDocument

    return {"nxforge": CoreFileSchema, "users": UsersDocument, "manifest": Manifest}


def module_models(modules_dir: Path) -> dict[str, type[BaseModel]]:
    """``config/<folder>/*.yaml`` of each module declaring one, keyed by the folder name."""
    models: dict[str, type[BaseModel]] = {}
    for info in discover_modules(modules_dir):
        if info.manifest and info.manifest.config:
            models[info.manifest.config.folder] = resolve_handler(modules_dir, info.manifest.config.model)
    return models


def all_schemas(modules_dir: Path) -> dict[str, dict[str, Any]]:
    """File name (``nxforge.schema.json`` ...) -> JSON Schema, for core files and module configs."""
    models = {**module_models(modules_dir), **core_models()}
    manifests = [info.manifest for info in discover_modules(modules_dir) if info.manifest]
    schemas = {}
    for name, model in sorted(models.items()):
        schema = model.model_json_schema()
        _relax_presets(schema)
        if name == "nxforge":
            _type_module_settings(schema, manifests)
        schema = {"$schema": DRAFT, **schema, "title": schema.get("title", name)}
        schemas[name + SUFFIX] = schema
    return schemas


def _relax_presets(schema: dict[str, Any]) -> None:
    """A scrape config with ``preset:`` may omit ``values`` and give ``auth`` partially.

    The preset is merged in before validation, so the strict ``auth`` and ``values`` shapes only
    apply when no preset is named; the preset name itself becomes an enum for autocompletion.
    """
    scrape = schema.get("$defs", {}).get("ScrapeConfig")
    if scrape is None:
        return
    properties = scrape["properties"]
    strict = {key: properties[key] for key in ("auth", "values")}
    properties["auth"] = {"type": "object", "description": "how to log in: type none, basic, digest, form, cookie, "
                          "token, redfish_session, snmp_community or snmp_v3 (with a preset: only the keys that "
                          "differ)"}
    properties["values"] = {"type": "object", "description": "the named values to read: name -> selector, regex, "
                            "unit ... (with a preset: only the keys that differ)"}
    properties["preset"] = {
        "anyOf": [{"enum": list_presets()}, {"type": "null"}],
        "default": None,
        "description": "a vendor preset that fills in everything but the url (nxforge/scraping/presets/)",
    }
    scrape["required"] = [key for key in scrape.get("required", []) if key != "values"]
    scrape["if"] = {"required": ["preset"], "properties": {"preset": {"type": "string"}}}
    scrape["else"] = {"required": ["values"], "properties": strict}


def _setting_schema(spec: SettingSpec) -> dict[str, Any]:
    shape = {"enum": list(spec.options or [])} if spec.type == "select" else dict(SETTING_TYPES[spec.type])
    if spec.secret:
        shape = {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"}
    extra = {"title": spec.label, "description": (spec.description or spec.label).strip()}
    if spec.default is not None:
        extra["default"] = spec.default
    return {**shape, **extra}


def _type_module_settings(schema: dict[str, Any], manifests: Sequence[Manifest]) -> None:
    """``modules.settings.<module>`` typed from each known manifest; unknown modules stay free-form."""
    section = schema["$defs"]["ModulesSection"]["properties"]["settings"]
    known = {}
    for manifest in sorted(manifests, key=lambda m: m.name):
        if manifest.settings:
            known[manifest.name] = {
                "type": "object",
                "description": f"settings of {manifest.display_name} ({manifest.name})",
                "properties": {key: _setting_schema(spec) for key, spec in sorted(manifest.settings.items())},
            }
    section["properties"] = known


def render(schema: dict[str, Any]) -> str:
    """Stable text for a schema file: model field order (what the docs follow), trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(modules_dir: Path, target: Path) -> list[Path]:
    """Write every schema into ``target``; return the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, schema in all_schemas(modules_dir).items():
        path = target / file_name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def differences(modules_dir: Path, target: Path) -> list[str]:
    """What ``write_schemas`` would change in ``target``: missing, outdated and stale files."""
    expected = {name: render(schema) for name, schema in all_schemas(modules_dir).items()}
    problems = []
    for name, text in expected.items():
        path = target / name
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the models")
    for path in sorted(target.glob("*" + SUFFIX)):
        if path.name not in expected:
            problems.append(f"{path}: no model produces it any more (delete it)")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``nxforge schema [--out DIR] [--check]``; returns the exit status."""
    from nxforge.environment import Environment

    parser = argparse.ArgumentParser(prog="nxforge schema", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("schemas"), help="folder to write into (default ./schemas)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the folder is out of date")
    args = parser.parse_args(argv)
    modules_dir = Environment.from_environ().modules_dir
    if args.check:
        problems = differences(modules_dir, args.out)
        for problem in problems:
            print(problem)
        print(f"schemas in {args.out}: {'out of date' if problems else 'up to date'}", file=sys.stderr)
        return 1 if problems else 0
    for path in write_schemas(modules_dir, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
