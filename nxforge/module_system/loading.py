"""Import a module's code only when it is needed, under its own namespace, and say clearly when it cannot.

Module packages are imported as ``nxforge_modules.<package>`` (Home Assistant's ``custom_components``
idea), never by putting the modules folder on ``sys.path``: a module folder named like an installed
package (``openpyxl``) can then never shadow it. Module code imports its own files relatively
(``from .billing import ...``) and the core only through ``nxforge.sdk``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from nxforge.errors import NxForgeError

MODULES_NAMESPACE = "nxforge_modules"
"""The package every module's code is imported under."""


class HandlerError(NxForgeError):
    """A ``package.module:function`` reference that does not resolve."""


def _namespace() -> ModuleType:
    """The ``nxforge_modules`` package, created empty on first use."""
    namespace = sys.modules.get(MODULES_NAMESPACE)
    if namespace is None:
        spec = importlib.machinery.ModuleSpec(MODULES_NAMESPACE, None, is_package=True)
        namespace = importlib.util.module_from_spec(spec)
        namespace.__path__ = []
        sys.modules[MODULES_NAMESPACE] = namespace
    return namespace


def _forget(package: str) -> None:
    """Drop a module package and its submodules from the import cache."""
    prefix = f"{MODULES_NAMESPACE}.{package}"
    for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]:
        del sys.modules[name]


def mount_modules(modules_dir: Path, package: str | None = None) -> None:
    """Make the packages of ``modules_dir`` importable as ``nxforge_modules.<package>``.

    A folder mounted later wins over one mounted before, and a package already imported from
    another folder is forgotten when ``package`` is named, so each process sees the modules of the
    folder it was given (tests mount several).
    """
    namespace = _namespace()
    folder = str(Path(modules_dir).resolve())
    paths: list[str] = list(namespace.__path__)
    if not paths or paths[0] != folder:
        namespace.__path__ = [folder, *(p for p in paths if p != folder)]
        importlib.invalidate_caches()
    if package:
        loaded = sys.modules.get(f"{MODULES_NAMESPACE}.{package}")
        origin = getattr(loaded, "__file__", None) if loaded else None
        if loaded is not None and (origin is None or not Path(origin).resolve().is_relative_to(folder)):
            _forget(package)


def import_module_code(modules_dir: Path, dotted: str) -> ModuleType:
    """Import ``package.sub.module`` of a module folder under the modules namespace."""
    package = dotted.split(".", 1)[0]
    mount_modules(modules_dir, package)
    return importlib.import_module(f"{MODULES_NAMESPACE}.{dotted}")


def resolve_handler(modules_dir: Path, reference: str) -> Any:
    """The object named by ``package.module:attribute``, importing it from ``modules_dir``."""
    module_name, _, attribute = reference.partition(":")
    try:
        module = import_module_code(modules_dir, module_name)
    except Exception as exc:  # any import-time error in module code must be reported, not crash the core
        raise HandlerError(f"cannot import {module_name!r} for {reference!r}: {type(exc).__name__}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise HandlerError(f"{module_name!r} has no {attribute!r} (named by {reference!r})") from exc
