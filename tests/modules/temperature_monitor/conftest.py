"""Make the repository's ``modules/`` importable for the module's unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

MODULES = Path(__file__).resolve().parents[3] / "modules"
if str(MODULES) not in sys.path:
    sys.path.insert(0, str(MODULES))

from tests.notifications.conftest import smtp, webhook  # noqa: E402

__all__ = ["smtp", "webhook"]
