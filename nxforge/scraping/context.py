"""Per-attempt state shared by the engines: deadline, timings, resolved secrets, last page."""

from __future__ import annotations

import base64
import html
import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..log_redaction import remember_secrets
from ..secrets import REFERENCE, MissingSecretError, SecretStore, redact
from .config import ScrapeConfig
from .errors import ConfigFailure, ScrapeFailure
from .result import StepTiming

log = logging.getLogger(__name__)


class Secrets:
    """Resolves ``${NAME}`` references and remembers every value so it can be scrubbed later."""

    def __init__(self, store: SecretStore) -> None:
        self._store = store
        self.values: set[str] = set()

    def resolve(self, text: str) -> str:
        """The text with references replaced; the values join the redaction set."""
        try:
            for match in REFERENCE.finditer(text):
                self.add(self._store.lookup(match.group(1)))
            return self._store.resolve(text)
        except MissingSecretError as exc:
            raise ConfigFailure(str(exc), hint="set the secret, then test again") from exc

    def resolve_secret(self, text: str) -> str:
        """Like ``resolve``, for a field that is secret even when written literally (a password)."""
        value = self.resolve(text)
        self.add(value)
        return value

    def resolve_tree(self, data: Any) -> Any:
        """Resolve references in every string of a JSON-like structure."""
        if isinstance(data, str):
            return self.resolve(data)
        if isinstance(data, dict):
            return {key: self.resolve_tree(value) for key, value in data.items()}
        if isinstance(data, list):
            return [self.resolve_tree(value) for value in data]
        return data

    def add(self, value: str) -> None:
        """Remember one value (and the encodings it may appear in) for redaction."""
        if len(value) < 3:
            return  # scrubbing one or two characters would shred every message
        variants = set(_variants(value))
        self.values.update(variants)
        remember_secrets(variants)  # libraries' log lines (httpx prints URLs) are scrubbed too

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        return redact(text, self.values) if self.values else text


def _variants(value: str) -> Iterable[str]:
    yield value
    yield html.escape(value)
    yield urllib.parse.quote(value, safe="")
    yield urllib.parse.quote_plus(value)
    yield json.dumps(value)[1:-1]
    yield base64.b64encode(value.encode()).decode().rstrip("=")


@dataclass
class Snapshot:
    """What the last page looked like, for evidence and for messages."""

    url: str = ""
    source: str = ""
    screenshot: bytes | None = None


@dataclass
class RunContext:
    """One attempt at one endpoint."""

    key: str
    config: ScrapeConfig
    secrets: Secrets
    capture_evidence: bool
    deadline: float
    timings: list[StepTiming] = field(default_factory=list)
    snapshot: Snapshot = field(default_factory=Snapshot)
    #: Set from outside the running code (the browser's size guard) to stop the scrape with this failure.
    abort: ScrapeFailure | None = None
    #: Where the kept session lives: the endpoint's key, or its device's when endpoints share one login.
    session_key: str = ""
    #: Asked when the read is done: do more endpoints of this one-session device wait for it? Then the
    #: login is left open for them (no log-off).
    others_waiting: Callable[[], bool] = field(default=lambda: False, repr=False)
    _phase_start: float = field(default_factory=time.monotonic)

    @property
    def stay_logged_in(self) -> bool:
        """True when endpoints sharing this device's login are queued behind this scrape."""
        return self.others_waiting()

    def remaining(self, cap: float | None = None) -> float:
        """Seconds left before the scrape's deadline (at least a sliver, at most ``cap``)."""
        left = max(0.05, self.deadline - time.monotonic())
        return min(left, cap) if cap is not None else left

    def raise_if_aborted(self) -> None:
        """Raise the failure a guard recorded (a page larger than allowed ...), if any."""
        if self.abort is not None:
            raise self.abort

    def check_deadline(self, what: str) -> None:
        """Raise ``timeout`` when the whole-scrape budget is spent."""
        if time.monotonic() >= self.deadline:
            raise ScrapeFailure(
                "timeout",
                f"the scrape took longer than timeout_s={self.config.timeout_s:g}s ({what})",
                hint="the device is slow or busy; raise timeout_s if it is always this slow",
            )

    def mark(self, name: str) -> None:
        """Close the current phase under ``name`` and start the next one."""
        now = time.monotonic()
        self.timings.append(StepTiming(name=name, seconds=round(now - self._phase_start, 4)))
        self._phase_start = now
