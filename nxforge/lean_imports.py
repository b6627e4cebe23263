"""Imports made lighter for processes that start often: the cron collector and its scraping process.

Kept free of every other NxForge import, so ``collector.py`` can call it before anything else loads.
"""

from __future__ import annotations

import sys


def import_httpx_without_its_cli() -> None:
    """Import httpx without ``httpx._main``, the ``httpx`` command line client (click, rich, pygments).

    ``httpx/__init__.py`` imports its CLI inside ``try: ... except ImportError`` (and defines a stub
    ``httpx.main`` when that fails); a ``None`` in ``sys.modules`` makes that import fail at once.
    The entry is removed afterwards: only ``httpx.main`` of this process is the stub, and
    ``import httpx._main`` still works. NxForge never runs httpx's CLI.
    """
    if "httpx" in sys.modules:
        return
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx  # noqa: F401
    finally:
        if sys.modules.get("httpx._main", False) is None:
            del sys.modules["httpx._main"]
