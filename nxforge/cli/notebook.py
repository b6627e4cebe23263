"""``nxforge notebook [NAME] [--run] [--port N]``: open a marimo notebook of ``notebooks/`` on the configured data."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nxforge.environment import Environment

EXIT_OK, EXIT_FAILED = 0, 1
DEFAULT_NOTEBOOK = "consumption"


def notebooks_dir() -> Path:
    """``notebooks/`` of the checkout, else of the current folder."""
    beside = Path(__file__).resolve().parents[2] / "notebooks"
    return beside if beside.is_dir() else Path("notebooks").resolve()


def marimo_command(notebook: Path, run: bool, port: int | None, headless: bool) -> list[str]:
    """The marimo command line: ``edit`` to change it, ``run`` to show it as an app."""
    command = [sys.executable, "-m", "marimo", "run" if run else "edit", str(notebook)]
    if port:
        command += ["--port", str(port)]
    if headless:
        command.append("--headless")
    return command


def cmd_notebook(args: argparse.Namespace) -> int:
    """Find the notebook, pass the environment's folders on, and hand over to marimo."""
    folder = notebooks_dir()
    available = sorted(path.stem for path in folder.glob("*.py"))
    if args.list or (args.name is None and not available):
        print("\n".join(available) or f"no notebook in {folder}")
        return EXIT_OK
    name = args.name or DEFAULT_NOTEBOOK
    notebook = folder / f"{name.removesuffix('.py')}.py"
    if not notebook.exists():
        print(f"error: no notebook {name!r} in {folder}; there are: {', '.join(available) or 'none'}",
              file=sys.stderr)
        return EXIT_FAILED
    if importlib.util.find_spec("marimo") is None:
        print("error: marimo is not installed (pip install -r requirements.lock, or pip install -e '.[notebooks]')",
              file=sys.stderr)
        return EXIT_FAILED
    env = Environment.from_environ()
    # Absolute folders, so the notebook finds the same config wherever marimo runs it; the database URL
    # (and its secrets) the notebook's Platform reads itself from the environment or nxforge.yaml.
    environ = {**os.environ, "NXFORGE_CONFIG_DIR": str(env.config_dir.resolve()),
               "NXFORGE_DATA_DIR": str(env.data_dir.resolve()), "NXFORGE_MODULES_DIR": str(env.modules_dir)}
    command = marimo_command(notebook, args.run, args.port, args.headless)
    if args.print_command:
        print(" ".join(command))
        return EXIT_OK
    try:
        return subprocess.call(command, env=environ)
    except KeyboardInterrupt:
        return EXIT_OK


def add_notebook_parser(sub: Any) -> None:
    """Register ``nxforge notebook``."""
    parser = sub.add_parser("notebook", help="open a marimo notebook (notebooks/) on the configured database")
    parser.add_argument("name", nargs="?", help=f"notebook name (default {DEFAULT_NOTEBOOK})")
    parser.add_argument("--run", action="store_true", help="show it as an app (marimo run) instead of editing it")
    parser.add_argument("--port", type=int, help="port of marimo's server")
    parser.add_argument("--headless", action="store_true", help="do not open a browser")
    parser.add_argument("--list", action="store_true", help="list the notebooks and exit")
    parser.add_argument("--print-command", action="store_true", help="print the marimo command instead of running it")
    parser.set_defaults(func=cmd_notebook)
