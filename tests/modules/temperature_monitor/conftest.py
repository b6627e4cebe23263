"""The notification fixtures the module's alert tests use (``modules/`` is mounted by the parent conftest)."""

from __future__ import annotations

from tests.notifications.conftest import smtp, webhook

__all__ = ["smtp", "webhook"]
