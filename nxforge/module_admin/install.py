"""Install a module from a ZIP: everything is checked before a single file is written.

A module's package may not share its name with an importable package (``openpyxl``): module code
runs under ``nxforge_modules.<package>``, but a module named like a library would confuse every
reader and every tool that still finds packages by name, so it is refused with the reason.
"""

from __future__ import annotations

import importlib.util
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from nxforge.config.errors import ConfigError
from nxforge.config.loader import MAX_YAML_BYTES, load_yaml, validate_loaded
from nxforge.module_admin.lifecycle import LifecycleError, register_installed
from nxforge.module_system.discovery import MANIFEST_FILE, ModuleInfo, read_module
from nxforge.module_system.manifest import Manifest
from nxforge.platform import Platform

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024


def _safe_members(archive: zipfile.ZipFile) -> tuple[str, list[zipfile.ZipInfo]]:
    """The single top folder and the members, refusing anything that could escape or surprise."""
    members = archive.infolist()
    if not members:
        raise LifecycleError("the ZIP is empty")
    tops = set()
    total = 0
    for member in members:
        path = PurePosixPath(member.filename)
        if member.filename.startswith(("/", "\\")) or path.is_absolute() or ":" in path.parts[0]:
            raise LifecycleError(f"refused: {member.filename!r} is an absolute path")
        if ".." in path.parts:
            raise LifecycleError(f"refused: {member.filename!r} climbs out of the module folder with '..'")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise LifecycleError(f"refused: {member.filename!r} is a symbolic link")
        total += member.file_size
        tops.add(path.parts[0])
    if total > MAX_UNCOMPRESSED_BYTES:
        raise LifecycleError(f"refused: the ZIP unpacks to {total} bytes, over {MAX_UNCOMPRESSED_BYTES}")
    if len(tops) != 1:
        raise LifecycleError(
            f"the ZIP must hold one module folder at its top; found {sorted(tops)}",
            hint="zip the module's folder itself, e.g. `zip -r greeter.zip greeter/`",
        )
    return tops.pop(), members


def importable_elsewhere(package: str, modules_dir: Path) -> str | None:
    """Where ``package`` is already importable from outside ``modules_dir``, or None when it is not."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    places = [spec.origin] if spec.origin and spec.has_location else list(spec.submodule_search_locations or [])
    root = modules_dir.resolve()
    outside = [place for place in places if not Path(place).resolve().is_relative_to(root)]
    return (outside[0] if outside else None) if places else (spec.origin or package)


def install_zip(platform: Platform, zip_path: Path, actor: str) -> ModuleInfo:
    """Validate and unpack ``zip_path`` into the modules folder; the module is installed, disabled."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LifecycleError(f"{zip_path}: not a readable ZIP file ({exc})") from exc
    with archive:
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise LifecycleError(f"{zip_path}: the ZIP is corrupt ({exc})") from exc
        if bad is not None:
            raise LifecycleError(f"{zip_path}: the ZIP is corrupt (bad CRC in {bad})")
        top, _members = _safe_members(archive)
        manifest_name = f"{top}/{MANIFEST_FILE}"
        if manifest_name not in archive.namelist():
            raise LifecycleError(f"{zip_path}: no {manifest_name} in the ZIP")
        with archive.open(manifest_name) as handle:
            raw = handle.read(MAX_YAML_BYTES + 1)  # bytes: the safe loader names a bad byte's line and the size
        try:
            manifest = validate_loaded(load_yaml(Path(f"{zip_path.name}!/{manifest_name}"), raw), Manifest)
        except ConfigError as exc:
            raise LifecycleError(f"invalid manifest:\n{exc}") from exc
        if manifest.package != top:
            raise LifecycleError(
                f"the folder in the ZIP is {top!r} but the manifest's package is {manifest.package!r}",
                hint="the module's folder is its Python package: give both the same name",
            )
        target = platform.env.modules_dir / top
        clash = [info.name for info in platform.modules if info.name == manifest.name]
        if target.exists() or clash:
            raise LifecycleError(f"a module named {manifest.name!r} ({top}) is already installed; uninstall it first")
        shadowed = importable_elsewhere(top, platform.env.modules_dir)
        if shadowed is not None:
            raise LifecycleError(
                f"refused: the module's package {top!r} has the name of an importable package ({shadowed})",
                hint="rename the module's package (its folder and `package:` in the manifest) to a unique name",
            )
        platform.env.modules_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=platform.env.modules_dir, prefix=".install-") as staging:
            archive.extractall(staging)
            staged = Path(staging) / top
            checked = read_module(staged)
            if checked.error:
                raise LifecycleError(checked.error)
            staged.rename(target)
    return register_installed(platform, target, actor)
