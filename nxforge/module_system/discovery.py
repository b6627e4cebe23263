"""Find modules on disk by their manifest, without importing a line of their code."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from nxforge.config.errors import ConfigError
from nxforge.config.loader import validate_file
from nxforge.module_system.manifest import Manifest

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.yaml"


@dataclass(frozen=True)
class ModuleInfo:
    """A module folder and what its manifest says, or why it could not be read."""

    folder: Path
    manifest: Manifest | None
    error: str | None = None

    @property
    def name(self) -> str:
        """The manifest name, or the folder name when the manifest is broken."""
        return self.manifest.name if self.manifest else self.folder.name.replace("_", "-")

    @property
    def ok(self) -> bool:
        """True when the manifest is valid."""
        return self.manifest is not None

    @property
    def migrations_dir(self) -> Path:
        """Where the module's numbered SQL files live."""
        return self.folder / "migrations"


def read_module(folder: Path) -> ModuleInfo:
    """One module folder; problems are captured in ``error``, never raised."""
    manifest_path = folder / MANIFEST_FILE
    try:
        manifest = validate_file(manifest_path, Manifest)
    except ConfigError as exc:
        return ModuleInfo(folder, None, str(exc))
    except OSError as exc:
        return ModuleInfo(folder, None, f"{manifest_path}: cannot read: {exc}")
    if manifest.package != folder.name:
        return ModuleInfo(
            folder, None, f"{manifest_path}: package {manifest.package!r} must match the folder name {folder.name!r}"
        )
    return ModuleInfo(folder, manifest)


def discover_modules(modules_dir: Path) -> list[ModuleInfo]:
    """Every folder of ``modules_dir`` with a manifest, sorted by name; broken ones included."""
    if not modules_dir.is_dir():
        return []
    found = [read_module(folder) for folder in sorted(modules_dir.iterdir()) if (folder / MANIFEST_FILE).is_file()]
    names = [info.name for info in found]
    result = []
    for info in found:
        if names.count(info.name) > 1:
            result.append(ModuleInfo(info.folder, None, f"{info.folder}: module name {info.name!r} is used twice"))
        else:
            result.append(info)
    for info in result:
        if info.error:
            log.warning("module %s skipped: %s", info.name, info.error)
    return result
