"""Login sessions of one simulated device.

Idle expiry is checked against both the wall clock and the simulated clock: advancing the
simulated clock by a month must log everyone out (as it would on a real device), and a frozen
simulated clock must not keep a forgotten session alive forever.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from nxforge.simulator.clock import SimClock


@dataclass
class _Session:
    last_real: float
    last_sim: datetime
    ttl_s: float


class SessionStore:
    """Tokens of the currently valid sessions of one device, with idle expiry."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def create(self, ttl_s: float) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._purge_locked()
            self._sessions[token] = _Session(time.monotonic(), self._clock.now(), ttl_s)
        return token

    def touch(self, token: str | None) -> bool:
        """True when ``token`` is a live session; refreshes its idle timer."""
        if not token:
            return False
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return False
            if self._expired(session):
                del self._sessions[token]
                return False
            session.last_real = time.monotonic()
            session.last_sim = self._clock.now()
            return True

    def drop(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def active(self) -> int:
        with self._lock:
            self._purge_locked()
            return len(self._sessions)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def _expired(self, session: _Session) -> bool:
        real_idle = time.monotonic() - session.last_real
        sim_idle = (self._clock.now() - session.last_sim).total_seconds()
        return real_idle > session.ttl_s or sim_idle > session.ttl_s

    def _purge_locked(self) -> None:
        for token in [t for t, s in self._sessions.items() if self._expired(s)]:
            del self._sessions[token]
