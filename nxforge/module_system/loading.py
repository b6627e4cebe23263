"""Import a module's code only when it is needed, and say clearly when it cannot be imported."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any


class HandlerError(Exception):
    """A ``package.module:function`` reference that does not resolve."""


def resolve_handler(modules_dir: Path, reference: str) -> Any:
    """The object named by ``package.module:attribute``, importing it from ``modules_dir``."""
    folder = str(modules_dir)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time error in module code must be reported, not crash the core
        raise HandlerError(f"cannot import {module_name!r} for {reference!r}: {type(exc).__name__}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise HandlerError(f"{module_name!r} has no {attribute!r} (named by {reference!r})") from exc
