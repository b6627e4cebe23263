"""The scraping engine's own process: the child side of ``engine_process.EngineProcess``.

Started as ``python -c ...`` by the collector (see ``engine_process.py`` for why a process). It
makes one ``ScrapingEngine`` and serves calls until its standard input ends, so it also leaves
when the collector dies, however it dies.

Messages are pickled tuples. In, on standard input: ``("init", settings)`` once, then
``("scrape_many" | "scrape" | "suggest", call, payload)`` and ``("close",)``. Out, on the
descriptor that was standard output at start: ``("result", call, index,
result)`` per endpoint as it lands, ``("done", call, value)``, ``("raised", call, details)``,
``("log", record)`` and ``("closed",)``. Standard output and error are then pointed at a pipe
whose lines are logged (a library's print or Chromium's complaints), so nothing reaches the
collector's streams without passing this process's log redaction, which knows the secrets
resolved here.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import sys
import threading
from collections import deque
from pathlib import Path
from typing import IO, Any

from ..lean_imports import import_httpx_without_its_cli
from ..log_redaction import install_log_redaction

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000  # as the collector's own (nxforge.collector.memory): fewer collections of a big heap


class Replies:
    """The reply channel: whole pickled messages, one writer at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        """Write one message; a collector that went away is not an error here (standard input ends next)."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                pass


class ForwardingHandler(logging.Handler):
    """Hands each record, already redacted when made, to the collector's logging."""

    def __init__(self, replies: Replies) -> None:
        super().__init__()
        self.replies = replies

    def emit(self, record: logging.LogRecord) -> None:
        """Send the record as plain fields: its message merged, its traceback as text."""
        fields = {k: v for k, v in record.__dict__.items() if not k.startswith("_")}
        fields["msg"], fields["args"] = record.getMessage(), None
        if record.exc_info:
            fields["exc_text"] = record.exc_text or logging.Formatter().formatException(record.exc_info)
        fields["exc_info"] = None
        self.replies.send(("log", fields))


def _log_stream_lines(read_fd: int) -> None:
    """Log each line written to this process's standard output or error (through the redaction)."""
    printed = logging.getLogger(f"{__name__}.output")
    with os.fdopen(read_fd, "rb") as lines:
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                printed.warning("%s", text)


def _take_over_streams() -> IO[bytes]:
    """The reply channel on a descriptor of its own; descriptors 1 and 2 point at a logged pipe."""
    replies = os.fdopen(os.dup(1), "wb")
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    threading.Thread(target=_log_stream_lines, args=(read_fd,), name="worker-output", daemon=True).start()
    return replies


def _serve(engine: Any, replies: Replies, message: tuple[Any, ...]) -> None:
    """Run one call and send its results; any failure goes back to the caller, not to this loop."""
    from .errors import ScrapeFailure

    kind, call, payload = message
    try:
        if kind == "scrape_many":
            # Results land in any order and carry their key; the caller wants each request's index.
            waiting: dict[str, deque[int]] = {}
            for index, request in enumerate(payload):
                waiting.setdefault(request.key, deque()).append(index)

            def landed(result: Any) -> None:
                replies.send(("result", call, waiting[result.key].popleft(), result))

            engine.scrape_many(payload, on_result=landed)
            value = None
        elif kind == "scrape":
            value = engine.scrape(payload)
        else:
            value = engine.suggest(payload)
    except ScrapeFailure as failure:
        replies.send(("raised", call, {"error_class": failure.error_class, "message": failure.message,
                                       "hint": failure.hint or None, "step_index": failure.step_index}))
        return
    except Exception as exc:
        log.exception("the scraping process failed a %s call", kind)
        replies.send(("raised", call, {"message": f"{type(exc).__name__}: {exc}"}))
        return
    replies.send(("done", call, value))


def main(stdin: IO[bytes] | None = None) -> int:
    """Serve the collector until standard input ends or it says close."""
    gc.disable()  # start-up makes nearly no garbage; frozen below, as the collector does
    for stop in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C and systemd reach the whole group: the collector
        signal.signal(stop, signal.SIG_IGN)  # stops its jobs, then closes this process (or it is killed)
    requests = stdin or sys.stdin.buffer
    replies = Replies(_take_over_streams())
    logging.raiseExceptions = False  # a logging failure must not print into the pipe that is logged
    import_httpx_without_its_cli()
    from .engine import ScrapingEngine

    try:
        kind, settings = pickle.load(requests)  # a prestarted process waits here
    except EOFError:
        return 0  # the collector needed no engine
    assert kind == "init", kind
    root = logging.getLogger()
    root.setLevel(settings["log_level"])
    root.addHandler(ForwardingHandler(replies))
    install_log_redaction()
    engine = ScrapingEngine(secrets=settings["secrets"], evidence_dir=Path(settings["evidence_dir"]),
                            state_dir=Path(settings["state_dir"]), **settings["engine"])
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    gc.enable()
    try:
        while True:
            try:
                message = pickle.load(requests)
            except EOFError:
                break
            if message[0] == "close":
                break
            threading.Thread(target=_serve, args=(engine, replies, message), daemon=True).start()
    finally:
        engine.close()
        replies.send(("closed",))
    return 0
