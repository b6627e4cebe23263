"""Load the core pages from the top-level ``pages/`` folder, by file path, under their own names.

The design card puts the core pages in ``pages/`` beside ``streamlit_app.py``. That folder is not
part of the ``nxforge`` package, so it is found from the app's entry point:
``streamlit_app.py`` passes ``Path(__file__).parent / "pages"`` to the shell, and nothing
depends on where ``nxforge`` itself is installed. A page file is loaded only when its page is
opened, with ``importlib.util.spec_from_file_location`` under ``nxforge_pages.<file stem>``:
never by putting ``pages/`` on ``sys.path`` (where a file named like an installed package would
shadow it) and never as a package called ``pages``.

Streamlit (1.67) is in its old file-based mode while a ``pages/`` folder sits beside the entry
point, until a script calls ``st.navigation`` in that server process; every run of the app does,
so only the process's very first request is answered in that mode. For that request:

- a core page's URL runs its file directly: each core page file therefore ends by handing over
  to the app when run as ``__main__`` (``shell.main_from_page_file``), so it is served as usual;
- a module page's URL shows Streamlit's "Page not found" over the sign-in, then the default page;
- a file in ``pages/`` that no navigation declares would run: ``pages/`` holds declared core
  pages only (``tests/app/test_navigation.py`` checks it).

``tests/app/test_core_pages_browser.py`` checks a fresh server in Chromium, the last two as xfails
that turn into failures the day Streamlit stops doing so.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from nxforge.module_system.loading import HandlerError

CORE_PAGES_NAMESPACE = "nxforge_pages"
"""The prefix of the names core page files are loaded under."""


def _load_page_file(pages_dir: Path, stem: str) -> ModuleType:
    """``pages_dir/<stem>.py`` as the module ``nxforge_pages.<stem>``, loaded once per file."""
    path = (pages_dir / f"{stem}.py").resolve()
    name = f"{CORE_PAGES_NAMESPACE}.{stem}"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    if not path.is_file():
        raise HandlerError(f"no core page file {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HandlerError(f"cannot load core page file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def resolve_core_handler(pages_dir: Path, reference: str) -> Any:
    """The object named by ``<file stem>:<attribute>``, loading ``<file stem>.py`` from ``pages_dir``."""
    stem, _, attribute = reference.partition(":")
    if not stem.isidentifier():
        raise HandlerError(f"core page reference {reference!r} must be '<file stem>:<function>'")
    try:
        module = _load_page_file(pages_dir, stem)
    except HandlerError:
        raise
    except Exception as exc:  # an import-time error in a page must be reported inside the boundary
        raise HandlerError(f"cannot load core page {stem!r} for {reference!r}: {type(exc).__name__}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise HandlerError(f"core page {stem!r} has no {attribute!r} (named by {reference!r})") from exc
