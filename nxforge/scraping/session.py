"""Kept login sessions: cookies (and a bearer token) per endpoint, in memory and on disk.

One file per endpoint key under ``state_dir``, mode 600, in Playwright's storage-state shape
(``cookies``, ``origins``) so both engines read the same file, plus ``landing``: the page a
form login landed on. The next scrape starts there, so a session is reused whatever page
``url`` names (the login page itself, for devices whose ``url`` plus navigate steps reach the
values), and devices that keep the session in the URL path (APC) are reused too. Never the
password: cookie values, tokens and landing pages that contain a known secret are dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from .redfish_session import sessions_url

if TYPE_CHECKING:
    from .config import ScrapeConfig

log = logging.getLogger(__name__)


def shares_nothing(config: ScrapeConfig) -> bool:
    """A plain web page: engine ``http``, no login, no ``device``, no ``session_limit``. Nothing of it is shared
    with another endpoint but its origin's limit, so several engines may read such pages of one origin
    between them (``engine_pool.py``)."""
    return (config.engine == "http" and config.auth.type == "none" and config.device is None
            and config.session_limit is None)


def device_key(config: ScrapeConfig) -> str:
    """Which device a config reads, for its lock and its shared login: ``device``, else where the
    login happens (a form's login page: every endpoint of one card logs in there), else the origin."""
    if config.device:
        return f"device:{config.device}"
    auth = config.auth
    if auth.type == "redfish_session":  # the device's session collection, whatever page url names
        return "login:" + sessions_url(config)
    if auth.type == "form" and config.session_limit is not None:
        login_url = getattr(auth, "login_url", None)
        return "login:" + (urljoin(config.url, login_url) if login_url else config.url).split("?")[0]
    parts = urlsplit(config.url)
    return f"{parts.scheme}://{parts.netloc}"


def safe_name(key: str) -> str:
    """A file-name-safe, collision-free form of an endpoint key."""
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", key)[:60]
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


class SessionStore:
    """Reads and writes per-endpoint session state; safe to share between threads."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        """Where ``key``'s state lives."""
        return self.state_dir / f"{safe_name(key)}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved state (``cookies``, ``origins``, optional ``token``), or None."""
        with self._lock:
            if key in self._memory:
                return self._memory[key]
        path = self.path(key)
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable session state %s: %s", path, exc)
            return None
        if not isinstance(state, dict):
            return None
        with self._lock:
            self._memory[key] = state
        return state

    def save(self, key: str, cookies: list[dict[str, Any]], token: str | None, secrets: set[str],
             landing: str | None = None, session_url: str | None = None) -> None:
        """Keep the session for next time (atomically, mode 600); ``landing``: where the login landed,
        ``session_url``: the Redfish session to DELETE at log-off."""
        kept = [c for c in cookies if not any(s and s in str(c.get("value", "")) for s in secrets)]
        state: dict[str, Any] = {"cookies": kept, "origins": []}
        if token and not any(s and s != token and s in token for s in secrets):  # the token is a secret itself
            state["token"] = token
        if landing and not any(s and s in landing for s in secrets):
            state["landing"] = landing
        if session_url and not any(s and s in session_url for s in secrets):
            state["session_url"] = session_url
        with self._lock:
            if self._memory.get(key) == state:
                return  # unchanged (the usual case with a kept session): no disk write
            self._memory[key] = state
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def clear(self, key: str) -> None:
        """Forget the session (after a failed check, or a log-off)."""
        with self._lock:
            self._memory.pop(key, None)
        self.path(key).unlink(missing_ok=True)
