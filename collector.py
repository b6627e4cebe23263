"""The collector process: ``python collector.py --once`` for cron, or without ``--once`` as a daemon.

Exit status 0 when the run completed (even if some meters failed), non-zero when it could not
happen: 2 for a configuration error, 3 when the database is unreachable.
"""

import sys

from nxforge.cli import collector_main

if __name__ == "__main__":
    sys.exit(collector_main())
