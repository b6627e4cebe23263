"""A controllable clock for the simulator.

Billing is about months of energy; tests cannot wait a month. Every energy figure the simulator
serves is computed from this clock, so advancing it by 30 days makes every meter show 30 days
more consumption, and freezing it makes readings deterministic.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def require_aware(dt: datetime) -> datetime:
    """Return ``dt`` in UTC; reject naive datetimes, which would silently mean local time."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware (UTC), got naive {dt!r}")
    return dt.astimezone(UTC)


class SimClock:
    """Clock that runs in real time from a chosen start, or stays frozen until moved.

    Running mode measures elapsed time with ``time.monotonic`` so a change of the system clock
    does not make simulated meters jump.
    """

    def __init__(self, start: datetime | None = None, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._base = require_aware(start) if start is not None else datetime.now(UTC)
        self._mono = time.monotonic()
        self._frozen = frozen

    def now(self) -> datetime:
        """Current simulated time, UTC-aware."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        if self._frozen:
            return self._base
        return self._base + timedelta(seconds=time.monotonic() - self._mono)

    def set(self, dt: datetime) -> None:
        """Jump to ``dt`` (forwards or backwards); keeps running if not frozen."""
        with self._lock:
            self._base = require_aware(dt)
            self._mono = time.monotonic()

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` (a month of consumption in one call)."""
        with self._lock:
            self._base = self._now_locked() + delta
            self._mono = time.monotonic()

    def freeze(self) -> None:
        """Stop the clock at the current time."""
        with self._lock:
            self._base = self._now_locked()
            self._frozen = True

    def unfreeze(self) -> None:
        """Let the clock run in real time again from where it stands."""
        with self._lock:
            self._base = self._now_locked()
            self._mono = time.monotonic()
            self._frozen = False

    @property
    def frozen(self) -> bool:
        return self._frozen
