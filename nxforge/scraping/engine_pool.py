"""Several scraping processes behind the calls of one engine, each device read by one of them.

Why: with one scraping process, the collector's own process sits idle most of a run (storing a
batch costs a fraction of reading it) while the one child reads at full speed on one core. With
two, both cores read: on a two-core machine, 1,000 plain web meters are read about 1.7 times
faster than by one process (``docs/performance.md``).

What must not change when a collector reads with several processes, and how it does not:

- a device's lock, its kept login, its one session (``session_limit``), its SNMP walk and its
  Modbus connection live in one engine: every endpoint whose config shares such state (any
  engine but plain ``http``, a login, ``device`` or ``session_limit``) goes to the process its
  device key picks, the same one every batch;
- one browser per collector: every ``browser`` endpoint goes to the first process;
- a device's ``per_host_concurrency`` holds for the whole collector: plain web pages of one
  origin, the only endpoints spread over the processes, are read at most ``per_host_concurrency
  / processes`` at a time by each (so at most ``per_host_concurrency`` in all), and so are the
  other scrape limits.

A batch is split by process, and each part's replies are put, renumbered, in the caller's inbox
(``batches.py``): the caller sees one batch. A process that dies costs failed readings for its
own part only; the others go on.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from pathlib import Path
from typing import Any

from ..secrets import SecretStore
from .batches import BatchReading, Inbox, unanswered
from .engine_process import EngineProcess
from .request import ScrapeRequest
from .result import ScrapeResult, Suggestion
from .session import device_key

# ScrapingEngine's limits, shared among the processes (its defaults when the caller gives none).
SHARED_LIMITS = {"http_concurrency": 64, "per_host_concurrency": 8}


def member_for(request: ScrapeRequest, processes: int) -> int:
    """The process (0 to ``processes`` - 1) that reads ``request``: one for all of a device's endpoints with state."""
    config = request.config
    if config.engine == "browser":
        return 0
    stateless = (config.engine == "http" and config.auth.type == "none" and config.device is None
                 and config.session_limit is None)
    key = request.key if stateless else device_key(config)
    return zlib.crc32(key.encode()) % processes


class EnginePool(BatchReading):
    """``processes`` ``EngineProcess``es read as one engine; thread-safe."""

    def __init__(self, processes: int, *, secrets: SecretStore, evidence_dir: Path, state_dir: Path,
                 **engine: Any) -> None:
        """``engine``: ``ScrapingEngine``'s other keyword arguments, for the collector as a whole."""
        if processes < 2:
            raise ValueError("an EnginePool has two processes or more; use EngineProcess for one")
        shared = {name: max(1, engine.get(name, default) // processes) for name, default in SHARED_LIMITS.items()}
        self._members = [EngineProcess(secrets=secrets, evidence_dir=evidence_dir, state_dir=state_dir,
                                       **{**engine, **shared})
                         for _ in range(processes)]
        self._ids = itertools.count(1)

    def _submit(self, requests: list[ScrapeRequest], inbox: Inbox) -> int:
        """Hand each process its part of the batch; the parts' replies reach ``inbox`` as one batch's."""
        batch = next(self._ids)
        parts: dict[int, list[int]] = {}
        for index, request in enumerate(requests):
            parts.setdefault(member_for(request, len(self._members)), []).append(index)
        relay = _Relay(batch, inbox, len(parts))
        for member, indexes in parts.items():
            engine = self._members[member]
            engine._submit([requests[i] for i in indexes], _Part(relay, engine, [(i, requests[i]) for i in indexes]))
        return batch

    def scrape(self, request: ScrapeRequest) -> ScrapeResult:
        """Read one endpoint; never raises for a meter problem (see ``ScrapeResult.error``)."""
        return self.scrape_many([request])[0]

    def suggest(self, request: ScrapeRequest) -> list[Suggestion]:
        """Elements that look like energy on the endpoint's page, from the process that reads it."""
        return self._members[member_for(request, len(self._members))].suggest(request)

    def close(self) -> None:
        """Close every process (each closes its browser and pools)."""
        for member in self._members:
            member.close()

    def __enter__(self) -> EnginePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Relay:
    """One batch of the caller: its inbox, and how many of its parts are still being read."""

    def __init__(self, batch: int, inbox: Inbox, parts: int) -> None:
        self.batch, self.inbox = batch, inbox
        self._open = parts
        self._lock = threading.Lock()

    def part_ended(self) -> None:
        """A part is answered in full; the last one ends the batch."""
        with self._lock:
            self._open -= 1
            last = self._open == 0
        if last:
            self.inbox.put(("done", self.batch, None))


class _Part:
    """The inbox one process answers a part in: its replies renumbered as the batch's (put from that process's
    reader thread only)."""

    def __init__(self, relay: _Relay, engine: EngineProcess, requests: list[tuple[int, ScrapeRequest]]) -> None:
        self._relay, self._engine, self._requests = relay, engine, requests
        self._answered = [False] * len(requests)

    def put(self, reply: tuple[Any, ...]) -> None:
        """Pass one of the process's replies on (see ``batches.py`` for the kinds)."""
        kind, call, *payload = reply
        relay = self._relay
        if kind == "result":
            index, result = payload
            self._answered[index] = True
            relay.inbox.put(("result", relay.batch, self._requests[index][0], result))
            return
        self._engine._forget(call)
        if kind == "raised":
            relay.inbox.put(("raised", relay.batch, payload[0]))
            return
        if kind == "died":  # only this part's unanswered endpoints fail; the other processes go on
            for (index, request), answered in zip(self._requests, self._answered, strict=True):
                if not answered:
                    relay.inbox.put(("result", relay.batch, index, unanswered(request, payload[0])))
        relay.part_ended()
