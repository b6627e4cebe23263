"""Notebook tests build their data with the module's own functions, imported as the core does."""

from __future__ import annotations

from tests.modules.conftest import MODULES_DIR, mount_modules

mount_modules(MODULES_DIR)
