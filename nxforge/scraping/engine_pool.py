"""Several scraping processes behind the calls of one engine: plain web pages spread, the rest in the first.

Why: with one scraping process, the collector's own process sits idle most of a run (storing a
batch costs a fraction of reading it) while the one child reads at full speed on one core. With
two, both cores read: on a two-core machine, 1,000 plain web meters are read about 1.7 times
faster than by one process (``docs/performance.md``).

What must not change when a collector reads with several processes, and how it does not:

- what endpoints share inside an engine stays in one engine: a device's lock (``device``), one
  login for a one-session card (``session_limit``), a Redfish session, an SNMP walk, a Modbus
  gateway's connection, the one browser. So every endpoint but a plain web page is read by the
  first process, as a one-process collector reads it. Only ``http`` endpoints with no login,
  no ``device`` and no ``session_limit`` are spread, each always to the same process (by its id);
- a device's limits hold for the whole collector: the first process reads every endpoint with
  state at the engine's full limits, as one process would; the plain pages of one origin, spread
  over the processes, are read at most ``per_host_concurrency / processes`` at a time by each
  (``plain_page_share``), so at most ``per_host_concurrency`` in all. (An origin that has both
  plain pages and endpoints with state is the one exception: each kind has its own limit.)
- a process that dies costs failed readings for its own part only; the others go on.

A batch is split by process, and each part's replies are put, renumbered, in the caller's inbox
(``batches.py``): the caller sees one batch, ended when every part has ended.
"""

from __future__ import annotations

import itertools
import logging
import threading
import zlib
from pathlib import Path
from typing import Any

from ..secrets import SecretStore
from .batches import BatchReading, Inbox, unanswered
from .engine_process import EngineProcess
from .limits import PER_HOST_CONCURRENCY
from .request import ScrapeRequest
from .result import Suggestion
from .session import shares_nothing

log = logging.getLogger(__name__)

def member_for(request: ScrapeRequest, processes: int) -> int:
    """The process (0 to ``processes`` - 1) that reads ``request``: 0 unless it is a plain web page, which
    goes where its id says."""
    if shares_nothing(request.config):
        return zlib.crc32(request.key.encode()) % processes
    return 0


class EnginePool(BatchReading):
    """``processes`` ``EngineProcess``es read as one engine; thread-safe."""

    def __init__(self, processes: int, *, secrets: SecretStore, evidence_dir: Path, state_dir: Path,
                 **engine: Any) -> None:
        """``engine``: ``ScrapingEngine``'s other keyword arguments, for the collector as a whole."""
        per_host = engine.get("per_host_concurrency", PER_HOST_CONCURRENCY)
        if not 2 <= processes <= per_host:
            raise ValueError(f"an EnginePool has 2 to {per_host} processes (each takes a share of an origin's "
                             f"{per_host} scrapes at once; use EngineProcess for one), not {processes}")
        self._members: list[EngineProcess] = []
        try:
            for _ in range(processes):
                self._members.append(EngineProcess(secrets=secrets, evidence_dir=evidence_dir, state_dir=state_dir,
                                                   plain_page_share=per_host // processes, **engine))
        except BaseException:
            self.close()  # the processes already started: none left running
            raise
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

    def suggest(self, request: ScrapeRequest) -> list[Suggestion]:
        """Elements that look like energy on the endpoint's page, from the process that reads it."""
        return self._members[member_for(request, len(self._members))].suggest(request)

    def close(self) -> None:
        """Close every process (each closes its browser and pools), even if one of them fails to."""
        for member in self._members:
            try:
                member.close()
            except Exception:
                log.exception("a scraping process did not close cleanly")

    def __enter__(self) -> EnginePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Relay:
    """One batch of the caller: its inbox, how many of its parts are still being read, what a part raised."""

    def __init__(self, batch: int, inbox: Inbox, parts: int) -> None:
        self.batch, self.inbox = batch, inbox
        self._open = parts
        self._raised: BaseException | None = None
        self._lock = threading.Lock()

    def part_ended(self, raised: BaseException | None = None) -> None:
        """A part is answered in full (or its process raised); the last one ends the batch, after every
        other part's results are in, so a part that raised costs no other part its readings."""
        with self._lock:
            self._open -= 1
            self._raised = self._raised or raised
            last, failure = self._open == 0, self._raised
        if last:
            self.inbox.put(("done", self.batch, None) if failure is None else ("raised", self.batch, failure))


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
        if kind == "died":  # only this part's unanswered endpoints fail; the other processes go on
            for (index, request), answered in zip(self._requests, self._answered, strict=True):
                if not answered:
                    relay.inbox.put(("result", relay.batch, index, unanswered(request, payload[0])))
        relay.part_ended(payload[0] if kind == "raised" else None)
