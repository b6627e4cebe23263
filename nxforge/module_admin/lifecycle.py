"""Enable, disable, install and uninstall modules, with dependency checks both ways.

installed -> enabled <-> disabled -> uninstalled. Enabling applies the module's migrations first;
a migration that fails leaves the module disabled and says why.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version
from sqlalchemy import delete, select, update

import nxforge
from nxforge.audit import record_audit
from nxforge.db.schema import modules_table
from nxforge.db.types import utcnow
from nxforge.errors import NxForgeError
from nxforge.migrations.runner import MigrationError, migrate_module, rollback_module
from nxforge.module_system.dependencies import enabled_dependents, find_cycle, missing_for_enable
from nxforge.module_system.discovery import ModuleInfo
from nxforge.module_system.enabled_file import set_module_enabled
from nxforge.module_system.manifest import Manifest
from nxforge.platform import Platform

log = logging.getLogger(__name__)


class LifecycleError(NxForgeError):
    """A lifecycle change refused or failed; the message says why, the hint what to do where it is not plain."""


@dataclass(frozen=True)
class ModuleStatus:
    """What ``nxforge modules list`` and the Modules page show for one module."""

    name: str
    version: str
    display_name: str
    status: str  # enabled | disabled | broken | failed
    requires: tuple[str, ...]
    error: str | None


def _manifests(platform: Platform) -> dict[str, Manifest]:
    return {info.name: info.manifest for info in platform.modules if info.manifest is not None}


def _record_status(platform: Platform, info: ModuleInfo, status: str, error: str | None = None) -> None:
    assert info.manifest is not None
    now = utcnow()
    values = {"version": info.manifest.version, "status": status, "updated_at": now, "error": error}
    with platform.engine.begin() as conn:
        exists = conn.execute(select(modules_table.c.name).where(modules_table.c.name == info.name)).first()
        if exists:
            conn.execute(update(modules_table).where(modules_table.c.name == info.name).values(**values))
        else:
            conn.execute(modules_table.insert().values(name=info.name, installed_at=now, **values))


def _recorded(platform: Platform) -> dict[str, tuple[str, str | None]]:
    with platform.engine.connect() as conn:
        rows = conn.execute(select(modules_table.c.name, modules_table.c.status, modules_table.c.error))
        return {row.name: (row.status, row.error) for row in rows}


def list_modules(platform: Platform) -> list[ModuleStatus]:
    """Every module on disk with its status; broken manifests and failed migrations included."""
    enabled = set(platform.enabled_names)
    recorded = _recorded(platform)
    result = []
    for info in platform.modules:
        if info.manifest is None:
            result.append(ModuleStatus(info.name, "?", info.name, "broken", (), info.error))
            continue
        status = "enabled" if info.name in enabled else "disabled"
        db_status, db_error = recorded.get(info.name, ("", None))
        if db_status == "failed" and status == "disabled":
            status = "failed"
        manifest = info.manifest
        result.append(
            ModuleStatus(
                info.name,
                manifest.version,
                manifest.display_name,
                status,
                tuple(manifest.requires.modules),
                db_error if status == "failed" else None,
            )
        )
    return result


def check_core_version(manifest: Manifest) -> None:
    """Refuse a module written for another core version."""
    if Version(nxforge.__version__) not in SpecifierSet(manifest.requires.core):
        raise LifecycleError(
            f"{manifest.name} needs NxForge core {manifest.requires.core}; this is {nxforge.__version__}",
            hint="install a version of the module written for this core",
        )


def enable_module(platform: Platform, name: str, actor: str) -> list[str]:
    """Apply pending migrations then enable; return the migrations applied."""
    info = platform.module(name)
    if info.manifest is None:
        raise LifecycleError(f"cannot enable {name}: {info.error}", hint="`nxforge config check` names the line to fix")
    manifests = _manifests(platform)
    cycle = find_cycle(manifests)
    if cycle and name in cycle:
        raise LifecycleError(f"cannot enable {name}: modules depend on each other in a cycle: {' -> '.join(cycle)}")
    check_core_version(info.manifest)
    reasons = missing_for_enable(name, manifests, platform.enabled_names)
    settings = platform.settings_for(info)
    for key, spec in info.manifest.settings.items():
        if spec.required and settings.get(key) in (None, ""):
            reasons.append(f"setting {key!r} is required: set modules.settings.{name}.{key} in nxforge.yaml")
    if reasons:
        raise LifecycleError(f"cannot enable {name}: " + "; ".join(reasons))
    try:
        applied = migrate_module(platform.engine, name, info.migrations_dir)
    except MigrationError as exc:
        _record_status(platform, info, "failed", str(exc))
        record_audit(platform.engine, actor, "module.enable_failed", name, {"error": str(exc)})
        platform.events.emit("core", "module.enable_failed", f"{name} not enabled: {exc}", "error")
        raise LifecycleError(
            f"cannot enable {name}: migration failed: {exc}", hint="fix that migration file, then enable again"
        ) from exc
    set_module_enabled(platform.env.core_config_path, name, True)
    platform.reload()
    _record_status(platform, info, "enabled")
    record_audit(platform.engine, actor, "module.enable", name, {"migrations": applied})
    platform.events.emit("core", "module.enabled", f"module {name} enabled")
    return applied


def disable_module(platform: Platform, name: str, actor: str) -> None:
    """Disable ``name`` unless an enabled module still needs it."""
    info = platform.module(name)
    dependents = enabled_dependents(name, _manifests(platform), platform.enabled_names)
    if dependents:
        raise LifecycleError(
            f"cannot disable {name}: enabled module(s) {', '.join(dependents)} require it; disable them first"
        )
    set_module_enabled(platform.env.core_config_path, name, False)
    platform.reload()
    if info.manifest is not None:
        _record_status(platform, info, "disabled")
    record_audit(platform.engine, actor, "module.disable", name)
    platform.events.emit("core", "module.disabled", f"module {name} disabled")


def uninstall_module(platform: Platform, name: str, actor: str, keep_files: bool = False) -> list[str]:
    """Undo a disabled module's migrations, remove its folder and record it; return migrations undone."""
    info = platform.module(name)
    if name in platform.enabled_names:
        raise LifecycleError(f"cannot uninstall {name}: it is enabled; disable it first")
    dependents = sorted(
        other for other, manifest in _manifests(platform).items() if name in manifest.requires.modules
    )
    if dependents:
        raise LifecycleError(f"cannot uninstall {name}: installed module(s) {', '.join(dependents)} require it")
    undone = rollback_module(platform.engine, name, info.migrations_dir)
    with platform.engine.begin() as conn:
        conn.execute(delete(modules_table).where(modules_table.c.name == name))
    if not keep_files:
        shutil.rmtree(info.folder)
    platform.reload()
    record_audit(platform.engine, actor, "module.uninstall", name, {"migrations_undone": undone})
    platform.events.emit("core", "module.uninstalled", f"module {name} uninstalled")
    return undone


def register_installed(platform: Platform, folder: Path, actor: str) -> ModuleInfo:
    """Record a freshly installed module folder as installed and disabled."""
    platform.reload()
    info = next(i for i in platform.modules if i.folder == folder)
    _record_status(platform, info, "disabled")
    record_audit(platform.engine, actor, "module.install", info.name, {"folder": str(folder)})
    return info


__all__ = [
    "LifecycleError",
    "ModuleStatus",
    "disable_module",
    "enable_module",
    "list_modules",
    "uninstall_module",
]
