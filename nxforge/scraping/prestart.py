"""The collector's scraping processes, forked first thing, so they import their engines while the collector starts.

``collector.py`` calls ``prestart`` before anything else runs: one thread, no file or socket
open, no logging set up, only this package's vocabulary imported (pydantic and the scrape
config models, which all the processes need). Each child (``nxforge.scraping.worker``) then
imports httpx and the engines while the collector imports SQLAlchemy, psycopg and its jobs; the
collector itself never imports them. Started afresh, a child spent ~0.9 s of CPU importing
everything again; forked after the shared imports, only its own. A child then waits for its
engine's settings. ``EngineProcess`` takes one (``take``) instead of starting one (two by
default, one per ``EngineProcess`` of ``EnginePool``); a run that never reads a meter closes
them at exit (their standard input ends, they leave). Anywhere else (a child died, a test,
``nxforge collect``) ``take`` starts a fresh interpreter.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Protocol

from .limits import PER_HOST_CONCURRENCY

ROOT = Path(__file__).resolve().parents[2]  # the checkout: a fresh child imports nxforge from here, wherever cron runs
CHILD = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from nxforge.scraping.worker import main; sys.exit(main())")


class Child(Protocol):
    """What ``EngineProcess`` uses of its child: a ``subprocess.Popen`` or a ``Forked``."""

    @property
    def pid(self) -> int: ...
    @property
    def stdin(self) -> IO[bytes] | None: ...
    @property
    def stdout(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def kill(self) -> None: ...


class Forked:
    """A child made by ``os.fork`` with the few ``Popen`` calls used here.

    One thread reaps a child: ``EngineProcess``'s reader once it has taken it, ``_discard`` before.
    """

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit status if the child has ended, else None."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the end, as ``Popen.wait`` does (``timeout`` in seconds, polled)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            elif time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"scraping process {self.pid}", timeout or 0.0)
            else:
                time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        """SIGKILL, unless it has ended."""
        if self.poll() is None:
            os.kill(self.pid, 9)


_waiting: list[Child] = []
MAX_PROCESSES = PER_HOST_CONCURRENCY  # what --scraping-processes accepts (nxforge.cli): each takes a share of it


def default_processes() -> int:
    """Scraping processes a collector starts when not told: two, one where it may use one core only.

    Two because the collector's own process is mostly idle while they read (it stores a batch in
    a fraction of the time its reading takes): on two cores both read. More pay off only on a
    machine with more cores and thousands of plain web meters, and each holds its own memory.
    """
    return min(2, len(os.sched_getaffinity(0)))  # the cores this process may run on (taskset), not the host's


def processes_in(argv: list[str]) -> int:
    """The ``--scraping-processes N`` of a collector's arguments (its default if absent or not a number; the
    collector's own parser reports a wrong value), 0 with ``--scraping-in-process``: how many to fork."""
    if "--scraping-in-process" in argv:
        return 0
    value = None  # the last one given, as the parser takes it
    for index, argument in enumerate(argv):
        if argument.startswith("--scraping-processes="):
            value = argument.partition("=")[2]
        elif argument == "--scraping-processes" and index + 1 < len(argv):
            value = argv[index + 1]
    if value is not None and value.isdigit() and 1 <= int(value) <= MAX_PROCESSES:
        return int(value)
    return default_processes()  # none, or a wrong one: the parser then says what is wrong


def start() -> Child:
    """A new scraping process in a fresh interpreter: messages on its standard input, replies on its output."""
    return subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            close_fds=True)


def prestart(count: int = 1) -> None:
    """Fork ``count`` scraping processes now, for the first ``take``s; closed at exit if nothing took them."""
    if _waiting:
        return
    for _ in range(count):
        _waiting.append(_fork())
    atexit.register(_discard)


def _fork() -> Forked:
    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: it never returns into collector.py
        status = 1
        try:
            for unused in _waiting:  # a sibling forked before: its pipes are not this child's
                assert unused.stdin is not None and unused.stdout is not None
                unused.stdin.close()
                unused.stdout.close()
            os.close(requests_write)
            os.close(replies_read)
            os.dup2(requests_read, 0)
            os.dup2(replies_write, 1)
            os.close(requests_read)
            os.close(replies_write)
            from .worker import main

            status = main(os.fdopen(0, "rb"))
        finally:
            os._exit(status)
    os.close(requests_read)
    os.close(replies_write)
    return Forked(pid, os.fdopen(requests_write, "wb"), os.fdopen(replies_read, "rb"))


def take() -> Child:
    """A prestarted process if one is waiting and alive, else a new one."""
    while _waiting:
        proc = _waiting.pop(0)
        if proc.poll() is None:
            return proc
        for stream in (proc.stdin, proc.stdout):  # it died waiting: its pipes go with it
            if stream is not None:
                stream.close()
    return start()


def _discard() -> None:
    while _waiting:
        _close(_waiting.pop())


def _close(proc: Child) -> None:
    assert proc.stdin is not None
    proc.stdin.close()  # no settings will come: the child leaves
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
