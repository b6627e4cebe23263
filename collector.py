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

if __name__ == "__main__":
    from nxforge.scraping import prestart

    # The scraping processes, forked before anything else is open (prestart.py says why).
    prestart.prestart(prestart.processes_in(sys.argv[1:]))

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
