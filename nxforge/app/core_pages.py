"""Load the core pages from the top-level ``core_pages/`` folder, by file path, under their own names.

The folder sits beside ``streamlit_app.py`` and is not part of the ``nxforge`` package, so it is
found from the app's entry point: ``streamlit_app.py`` passes ``Path(__file__).parent /
"core_pages"`` to the shell, and nothing depends on where ``nxforge`` itself is installed. A page
file is loaded only when its page is opened, with ``importlib.util.spec_from_file_location`` under
``nxforge_pages.<file stem>``: never by putting the folder on ``sys.path`` (where a file named like
an installed package would shadow it) and never as a package.

Why not ``pages/``, as the design card first said: Streamlit (1.67) serves the files of a ``pages/``
folder beside the entry point by their URLs until a script calls ``st.navigation`` in that server
process. On a fresh server's first request a file there ran without sign-in, and a module page's
URL showed "Page not found". No folder of that name exists, so every request goes through the
navigation (``tests/app/test_core_pages_browser.py`` checks a fresh server in Chromium, and
``tests/app/test_navigation.py`` that no ``pages/`` folder is beside the entry point).
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
