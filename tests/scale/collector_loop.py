"""One collector process for the scale tests: ``python collector.py --once --job collect`` in a loop.

Each pass is a complete cron-style run (new Platform, new execution row, claims, scrape, store),
in one long-lived process so a SIGKILL hits a collector mid-run. Stops when the stop file exists.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from nxforge.cli import collector_main


def main() -> int:
    stop = Path(sys.argv[1])
    while not stop.exists():
        collector_main(["--once", "--job", "collect"])
        time.sleep(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
