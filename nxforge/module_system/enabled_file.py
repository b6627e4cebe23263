"""Read and change the enabled-modules list in ``nxforge.yaml``, keeping the file's comments.

The enabled set is configuration, so it is versioned with the rest of ``config/``; ruamel.yaml's
round-trip mode rewrites only what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from nxforge.config.loader import load_yaml


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(config_path: Path) -> Any:
    if not config_path.exists():
        return CommentedMap()
    load_yaml(config_path)  # the safe loader first: ruamel would expand an alias bomb, let a second key win
    document = _yaml().load(config_path.read_text(encoding="utf-8"))
    return CommentedMap() if document is None else document


def _save(config_path: Path, document: Any) -> None:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    with config_path.open("w", encoding="utf-8") as handle:
        _yaml().dump(document, handle)


def set_module_enabled(config_path: Path, name: str, enabled: bool) -> None:
    """Add ``name`` to or remove it from ``modules.enabled``, creating the file if needed."""
    document = _load(config_path)
    modules = document.setdefault("modules", CommentedMap())
    current = modules.get("enabled")
    if current is None:
        current = modules["enabled"] = CommentedSeq()
    names = [str(item) for item in current]
    if enabled and name not in names:
        current.append(name)
    elif not enabled and name in names:
        del current[names.index(name)]
    _save(config_path, document)


def set_module_settings(config_path: Path, name: str, settings: dict[str, Any]) -> None:
    """Replace ``modules.settings.<name>`` with ``settings``."""
    document = _load(config_path)
    modules = document.setdefault("modules", CommentedMap())
    modules.setdefault("settings", CommentedMap())[name] = dict(settings)
    _save(config_path, document)
