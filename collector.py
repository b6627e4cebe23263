"""The collector process: ``python collector.py --once`` for cron, or without ``--once`` as a daemon.

Exit status 0 when the run completed (even if some meters failed), non-zero when it could not
happen: 2 for a configuration error, 3 when the database is unreachable.
"""

import atexit
import gc
import logging
import os
import sys

# Off for start-up (~800 modules imported, nearly nothing freed): nxforge.collector.memory says why, and turns
# it back on, with start-up frozen, once the first job's code is imported.
gc.disable()


def import_httpx_without_its_cli() -> None:
    """Import httpx without ``httpx._main``, the ``httpx`` command line client (click, rich, pygments).

    ``httpx/__init__.py`` imports its CLI inside ``try: ... except ImportError`` (and defines a stub
    ``httpx.main`` when that fails); a ``None`` in ``sys.modules`` makes that import fail at once.
    The entry is removed afterwards: only ``httpx.main`` of this process is the stub, and
    ``import httpx._main`` still works. The collector never runs httpx's CLI.
    """
    if "httpx" in sys.modules:
        return
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx  # noqa: F401
    finally:
        if sys.modules.get("httpx._main", False) is None:
            del sys.modules["httpx._main"]


import_httpx_without_its_cli()

from nxforge.cli import collector_main  # noqa: E402


def exit_now(status: int) -> None:
    """Leave without the interpreter's teardown of its ~1,000 modules.

    Everything is written and closed when ``collector_main`` returns (readings, the execution
    row, the metrics file; the database engine is disposed), so the teardown only frees memory,
    and it costs a cron run about 0.4 s of its cycle. The exit handlers still run, and the logs
    and standard streams are flushed; mypy's "fast exit" does the same.
    """
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_now(collector_main())
