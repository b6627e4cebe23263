"""Module tests import module code as the core does: as ``nxforge_modules.<package>`` from ``modules/``."""

from __future__ import annotations

from pathlib import Path

from nxforge.module_system.loading import mount_modules

MODULES_DIR = Path(__file__).resolve().parents[2] / "modules"
mount_modules(MODULES_DIR)
