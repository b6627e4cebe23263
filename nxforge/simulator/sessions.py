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
    session_id: str = ""


class SessionStore:
    """Tokens of the currently valid sessions of one device, with idle expiry."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._next_id = 0
        #: Every token handed out, newest last (tests look for them in logs and evidence).
        self.issued: list[str] = []
        #: How many sessions were created (tests count logins).
        self.created = 0

    def create(self, ttl_s: float) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._purge_locked()
            self._next_id += 1
            self._sessions[token] = _Session(time.monotonic(), self._clock.now(), ttl_s, str(self._next_id))
            self.created += 1
            self.issued = [*self.issued[-99:], token]
        return token

    def open(self, ttl_s: float, limit: int | None = None) -> tuple[str, str] | None:
        """A new session as (id, token), or None when ``limit`` sessions are already open (Redfish)."""
        with self._lock:
            self._purge_locked()
            if limit is not None and len(self._sessions) >= limit:
                return None
        token = self.create(ttl_s)
        with self._lock:
            return self._sessions[token].session_id, token

    def drop_id(self, session_id: str) -> bool:
        """End the session with this id (a Redfish DELETE); False when there is none."""
        with self._lock:
            for token, session in list(self._sessions.items()):
                if session.session_id == session_id:
                    del self._sessions[token]
                    return True
        return False

    def ids(self) -> list[str]:
        """The ids of the open sessions."""
        with self._lock:
            self._purge_locked()
            return [session.session_id for session in self._sessions.values()]

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
