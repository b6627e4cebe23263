"""The scraping engine in a process of its own, behind the same calls as ``ScrapingEngine``.

Why: in one process, the engine's event loop and the collector's own Python (the endpoint sync,
storing each batch, rescheduling) take turns on one interpreter lock, so a collector read its
meters at about half the engine's own rate on a two-core machine whose second core sat mostly
idle. With the engine in a child process (``worker.py``) both run at once: the child reads while
the collector stores what it has read.

What stays the same for the caller: ``scrape``, ``scrape_many`` and ``scrape_batches`` (results
reported to ``on_result`` in the caller's thread as they land; see ``batches.py``), ``suggest`` (raising
``ScrapeFailure``) and ``close``. The child's log records reach this process's logging (redacted
in the child, which knows the secrets it resolved, and again here); evidence and kept sessions
are written by the child in the same folders. If the child dies, the endpoints it had not
answered come back as failed readings saying so, and the next call starts a new child.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import pickle
import queue
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ..secrets import SecretStore
from .batches import BatchReading, Inbox
from .errors import ScrapeFailure
from .prestart import Child, take
from .request import ScrapeRequest
from .result import Suggestion

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 15.0  # the child closes its browser and pools; then it is killed


class EngineProcessError(ScrapeFailure):
    """The scraping process stopped before it answered."""


class EngineProcess(BatchReading):
    """A ``ScrapingEngine`` run by a child process; thread-safe, started at once, restarted when it dies."""

    def __init__(self, *, secrets: SecretStore, evidence_dir: Path, state_dir: Path, **engine: Any) -> None:
        """``engine`` holds ``ScrapingEngine``'s other keyword arguments (concurrency, body size)."""
        self._settings = {"secrets": secrets, "evidence_dir": str(evidence_dir), "state_dir": str(state_dir),
                          "engine": engine}
        self._lock = threading.Lock()  # starts, sends and the table of calls waiting for replies
        self._calls: dict[int, Inbox] = {}
        self._ids = itertools.count(1)
        self._proc: Child | None = None
        self._reader: threading.Thread | None = None
        self._closed = False
        with self._lock:
            self._start()

    # -- the child ------------------------------------------------------------------------

    def _start(self) -> None:
        """Start a child (the lock is held): it imports and makes its engine while the caller goes on."""
        proc = take()
        assert proc.stdin is not None and proc.stdout is not None
        self._proc = proc
        # INFO at least (a failure, a retry: a few lines per run), whatever this process's level is now: a job
        # raises it to INFO while it runs; what this process does not want is dropped when it arrives.
        settings = {**self._settings, "log_level": min(logging.getLogger().getEffectiveLevel(), logging.INFO)}
        self._send(("init", settings))
        self._reader = threading.Thread(target=self._read, args=(proc, proc.stdout), name="nxforge-scraping-replies",
                                        daemon=True)
        self._reader.start()
        log.debug("scraping process %d started", proc.pid)

    def _send(self, message: tuple[Any, ...]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        self._proc.stdin.flush()

    def _read(self, proc: Child, replies: IO[bytes]) -> None:
        """Hand each reply to the call waiting for it, and relog the child's records, until the child ends."""
        try:
            while True:
                message = pickle.load(replies)
                kind = message[0]
                if kind == "log":
                    _relog(message[1])
                elif kind in ("result", "done", "raised"):
                    waiting = self._calls.get(message[1])
                    if waiting is not None:
                        waiting.put(("raised", message[1], _failure(message[2])) if kind == "raised" else message)
                elif kind == "closed":
                    break
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            log.debug("scraping process %d: replies ended (%s)", proc.pid, exc)
        status = proc.wait()
        with self._lock:
            if self._proc is proc:
                self._proc = None
            orphans, self._calls = self._calls, {}
        for call, waiting in orphans.items():
            waiting.put(("died", call, status))
        if orphans or not self._closed:
            log.error("the scraping process %d stopped (exit status %s); a new one starts with the next reading",
                      proc.pid, status)

    def _call(self, kind: str, payload: Any, waiting: Inbox) -> int:
        """Send one call, starting a child first when none runs; its replies come in ``waiting``."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the scraping engine is closed")
            if self._proc is None:
                self._start()
            call = next(self._ids)
            self._calls[call] = waiting
            with contextlib.suppress(OSError):  # the child is gone: its reader answers "died" to every waiting call
                self._send((kind, call, payload))
        return call

    def _forget(self, batch: int) -> None:
        with self._lock:
            self._calls.pop(batch, None)

    def _submit(self, requests: list[ScrapeRequest], inbox: Inbox) -> int:
        """Send a batch to the child; its replies go to ``inbox`` (see ``batches.py``)."""
        return self._call("scrape_many", requests, inbox)

    # -- the engine's calls ---------------------------------------------------------------

    def suggest(self, request: ScrapeRequest) -> list[Suggestion]:
        """Elements that look like energy on the endpoint's page; raises ``ScrapeFailure`` when unreachable."""
        waiting: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        call = self._call("suggest", request, waiting)
        try:
            message = waiting.get()
        finally:
            self._forget(call)
        if message[0] == "died":
            raise EngineProcessError("step_failed", f"the scraping process stopped (exit status {message[2]})",
                                     hint="see the collector's log, then try again")
        if message[0] == "raised":
            raise message[2]
        value: list[Suggestion] = message[2]
        return value

    def close(self) -> None:
        """Ask the child to close its browser and pools and leave; kill it if it does not."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            proc, reader = self._proc, self._reader
            if proc is not None:
                try:
                    self._send(("close",))
                    assert proc.stdin is not None
                    proc.stdin.close()
                except OSError:
                    pass
        if proc is None or reader is None:
            return
        reader.join(timeout=CLOSE_WAIT_S)  # the reader reaps the child when it has left (the only one that does)
        if reader.is_alive():
            log.warning("the scraping process %d did not close in %.0f s: killed", proc.pid, CLOSE_WAIT_S)
            proc.kill()
            reader.join()

    def __enter__(self) -> EngineProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _relog(fields: dict[str, Any]) -> None:
    """Hand one of the child's records to this process's logger of the same name."""
    record = logging.makeLogRecord(fields)
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


def _failure(details: dict[str, Any]) -> ScrapeFailure:
    return ScrapeFailure(details.get("error_class", "step_failed"), details["message"], hint=details.get("hint"),
                         step_index=details.get("step_index"))
