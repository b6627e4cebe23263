"""The collector process's garbage collector: off for start-up, then start-up frozen and the collector on.

``collector.py`` turns it off before its imports: start-up makes ~800 modules and SQLAlchemy's,
pydantic's and the modules' objects, nearly none of them garbage, and the collections their
allocations trigger are wasted work on every cron run. ``start_up_done`` ends that once the first
job's code is imported (or a run found nothing due): what start-up made is frozen out of the
collections' way (a full collection no longer walks it) and the collector is on again, with a
larger first generation: a job reading 1,000 meters triggered ~300 young collections and, through
them, ~30 older ones at the default 700; at 10,000 the same garbage is freed by ~20 and none.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def start_up_done() -> None:
    """Freeze start-up's objects and turn the collector on, when ``collector.py`` turned it off; else nothing.

    Frozen without a full collection first: that one walked everything (0.1 s of every cron run)
    to free a few hundred objects, which now stay (once per process).
    """
    if gc.isenabled():
        return
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    gc.enable()
