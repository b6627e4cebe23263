"""Install a module from a ZIP: everything is checked before a single file is written.

A ZIP is judged by its central directory before a byte is decompressed: its own size, the number
of entries, each entry's declared size and compression ratio, and the declared total (a 6 GB bomb
of a few kilobytes is refused in milliseconds, not after decompressing it). Extraction then
streams each entry and stops at its declared size (zipfile never yields more than the header
says, and checks the CRC at the end), so a header that lies cannot write more than was accepted.

A module's package may not share its name with an importable package (``openpyxl``): module code
runs under ``nxforge_modules.<package>``, but a module named like a library would confuse every
reader and every tool that still finds packages by name, so it is refused with the reason.
"""

from __future__ import annotations

import importlib.util
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from nxforge.config.errors import ConfigError
from nxforge.config.loader import MAX_YAML_BYTES, load_yaml, validate_loaded
from nxforge.module_admin.lifecycle import LifecycleError, register_installed
from nxforge.module_system.discovery import MANIFEST_FILE, ModuleInfo, read_module
from nxforge.module_system.manifest import Manifest
from nxforge.platform import Platform

MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_ENTRY_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 2000
MAX_RATIO = 100  # text compresses 3-10x; a ratio over 100 is a bomb, not a module
RATIO_FREE_BYTES = 64 * 1024  # small files may compress better (a file of one repeated line)
MAX_NAME_CHARS = 255
CHUNK = 64 * 1024


def _declared_entries(zip_path: Path) -> int | None:
    """The entry count the end-of-central-directory record declares (zip64 too), read before zipfile parses it all."""
    with zip_path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 65_557))  # the record (22 bytes) plus the longest comment
        tail = handle.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return None
        count = int.from_bytes(tail[at + 10:at + 12], "little")
        locator = tail.rfind(b"PK\x06\x07", 0, at)
        if count == 0xFFFF and locator >= 0 and len(tail) >= locator + 20:
            handle.seek(int.from_bytes(tail[locator + 8:locator + 16], "little"))
            record = handle.read(56)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                count = int.from_bytes(record[32:40], "little")
        return count


def _check_member(member: zipfile.ZipInfo) -> None:
    """Refuse one entry from its header alone: where it would go, what it is, how big it says it is."""
    name = member.filename
    path = PurePosixPath(name)
    if not name or len(name) > MAX_NAME_CHARS or "\0" in name:
        raise LifecycleError(f"refused: an entry name is empty, NUL-bearing or longer than {MAX_NAME_CHARS}")
    if name.startswith(("/", "\\")) or path.is_absolute() or ":" in path.parts[0] or "\\" in name:
        raise LifecycleError(f"refused: {name!r} is an absolute path")
    if ".." in path.parts:
        raise LifecycleError(f"refused: {name!r} climbs out of the module folder with '..'")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise LifecycleError(f"refused: {name!r} is a symbolic link")
    if member.file_size > MAX_ENTRY_BYTES:
        raise LifecycleError(f"refused: {name!r} declares {member.file_size:,} bytes, over {MAX_ENTRY_BYTES:,}")
    # The manifest is read at most MAX_YAML_BYTES + 1 bytes, whatever it claims, and the loader says why it is refused.
    is_manifest = len(path.parts) == 2 and path.parts[1] == MANIFEST_FILE
    if not is_manifest and member.file_size > RATIO_FREE_BYTES \
            and member.file_size > MAX_RATIO * max(member.compress_size, 1):
        raise LifecycleError(
            f"refused: {name!r} would expand {member.file_size // max(member.compress_size, 1):,} times "
            f"({member.compress_size:,} -> {member.file_size:,} bytes), over {MAX_RATIO}: a ZIP bomb, not a module"
        )


def _safe_members(archive: zipfile.ZipFile) -> tuple[str, list[zipfile.ZipInfo]]:
    """The single top folder and the members, refusing anything that could escape or surprise (headers only)."""
    members = archive.infolist()
    if not members:
        raise LifecycleError("the ZIP is empty")
    if len(members) > MAX_ENTRIES:
        raise LifecycleError(f"refused: the ZIP has {len(members):,} entries, over {MAX_ENTRIES:,}",
                             hint="a module is a few dozen files; zip only the module's folder")
    tops = set()
    seen: set[str] = set()
    total = 0
    for member in members:
        _check_member(member)
        key = member.filename.rstrip("/").casefold()
        if key in seen:
            raise LifecycleError(f"refused: {member.filename!r} is in the ZIP twice (the second would replace it)")
        seen.add(key)
        total += member.file_size
        tops.add(PurePosixPath(member.filename).parts[0])
    if total > MAX_UNCOMPRESSED_BYTES:
        raise LifecycleError(f"refused: the ZIP declares {total:,} bytes unpacked, over {MAX_UNCOMPRESSED_BYTES:,}")
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


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], staging: Path, zip_path: Path) -> None:
    """Write each member under ``staging``, streaming, never past its declared size; a bad CRC stops it all."""
    written = 0
    for member in members:
        target = staging.joinpath(*PurePosixPath(member.filename).parts)
        if member.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(member) as source, target.open("wb") as sink:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > MAX_UNCOMPRESSED_BYTES:
                        raise LifecycleError(f"refused: the ZIP unpacks to over {MAX_UNCOMPRESSED_BYTES:,} bytes")
                    sink.write(chunk)
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
            raise LifecycleError(f"{zip_path}: the ZIP is corrupt ({member.filename}: {exc})") from exc


def _cycle_through(name: str, manifests: dict[str, Manifest]) -> list[str] | None:
    """A dependency path from ``name`` back to itself (first == last), or None."""
    def visit(current: str, path: list[str], seen: set[str]) -> list[str] | None:
        for dependency in manifests[current].requires.modules:
            if dependency == name:
                return [*path, name]
            if dependency in manifests and dependency not in seen:
                seen.add(dependency)
                found = visit(dependency, [*path, dependency], seen)
                if found:
                    return found
        return None

    return visit(name, [name], {name})


def _check_clashes(platform: Platform, manifest: Manifest, top: str) -> None:
    """Refuse a folder or a module name already taken, naming the module that holds it."""
    target = platform.env.modules_dir / top
    holder = next((info for info in platform.modules if info.folder.name == top), None)
    if holder is not None and holder.name == manifest.name:
        raise LifecycleError(f"module {manifest.name!r} is already installed (folder {top!r})",
                             hint=f"uninstall {manifest.name!r} first")
    if holder is not None or target.exists():
        held_by = f"module {holder.name!r}" if holder is not None else "a folder that is not a module"
        raise LifecycleError(
            f"the folder {top!r} is already used by {held_by} in {platform.env.modules_dir}",
            hint="rename this module's package (its folder and `package:`), or uninstall that module",
        )
    same_name = next((info for info in platform.modules if info.name == manifest.name), None)
    if same_name is not None:
        raise LifecycleError(
            f"a module named {manifest.name!r} is already installed (folder {same_name.folder.name!r})",
            hint=f"uninstall {manifest.name!r} first, or give this module another name",
        )


def install_zip(platform: Platform, zip_path: Path, actor: str) -> ModuleInfo:
    """Validate and unpack ``zip_path`` into the modules folder; the module is installed, disabled."""
    try:
        size = zip_path.stat().st_size
    except OSError as exc:
        raise LifecycleError(f"{zip_path}: not a readable ZIP file ({exc})") from exc
    if size > MAX_ZIP_BYTES:
        raise LifecycleError(f"refused: {zip_path} is {size:,} bytes, over {MAX_ZIP_BYTES:,}")
    declared = _declared_entries(zip_path)
    if declared is not None and declared > MAX_ENTRIES:
        raise LifecycleError(f"refused: the ZIP has {declared:,} entries, over {MAX_ENTRIES:,}",
                             hint="a module is a few dozen files; zip only the module's folder")
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise LifecycleError(f"{zip_path}: not a readable ZIP file ({exc})") from exc
    with archive:
        top, members = _safe_members(archive)
        manifest_name = f"{top}/{MANIFEST_FILE}"
        if manifest_name not in archive.namelist():
            raise LifecycleError(f"{zip_path}: no {manifest_name} in the ZIP")
        try:
            with archive.open(manifest_name) as handle:
                raw = handle.read(MAX_YAML_BYTES + 1)  # bytes: the safe loader names a bad byte's line and the size
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
            raise LifecycleError(f"{zip_path}: the ZIP is corrupt ({manifest_name}: {exc})") from exc
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
        _check_clashes(platform, manifest, top)
        manifests = {info.name: info.manifest for info in platform.modules if info.manifest is not None}
        cycle = _cycle_through(manifest.name, {**manifests, manifest.name: manifest})
        if cycle:
            raise LifecycleError(
                f"refused: {manifest.name} would make a dependency cycle with installed modules: {' -> '.join(cycle)}",
                hint="modules may depend on each other one way only: drop one of these `requires: modules:`",
            )
        shadowed = importable_elsewhere(top, platform.env.modules_dir)
        if shadowed is not None:
            raise LifecycleError(
                f"refused: the module's package {top!r} has the name of an importable package ({shadowed})",
                hint="rename the module's package (its folder and `package:` in the manifest) to a unique name",
            )
        platform.env.modules_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=platform.env.modules_dir, prefix=".install-") as staging:
            _extract(archive, members, Path(staging), zip_path)
            staged = Path(staging) / top
            checked = read_module(staged)
            if checked.error:
                raise LifecycleError(checked.error)
            staged.rename(target)
    return register_installed(platform, target, actor)
