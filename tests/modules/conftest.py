"""Module tests import module code as the core does: with ``modules/`` on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

MODULES_DIR = Path(__file__).resolve().parents[2] / "modules"
if str(MODULES_DIR) not in sys.path:
    sys.path.insert(0, str(MODULES_DIR))
