"""Nothing lost: readings that cannot reach the database wait in a JSONL file until the next run.

Each line is one ``RawReading``. A flush renames the file first (so readings spooled during the
flush go to a fresh file), stores every line (the reading key makes a second flush store
nothing new), and deletes the renamed file only when all of it is stored.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .readings import RawReading

log = logging.getLogger(__name__)

SPOOL_FILE = "readings.jsonl"


class Spool:
    """A folder holding readings not yet stored."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def path(self) -> Path:
        """The file new readings are appended to."""
        return self.folder / SPOOL_FILE

    def append(self, readings: Iterable[RawReading]) -> int:
        """Append readings durably (fsync), return how many.

        Several collectors on one machine share the folder: each line is one ``write`` on an
        ``O_APPEND`` descriptor under an exclusive ``flock``, so lines never interleave.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        count = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            for item in readings:
                os.write(fd, (json.dumps(item.to_json()) + "\n").encode("utf-8"))
                count += 1
            os.fsync(fd)
        finally:
            os.close(fd)
        if count:
            log.warning("database unavailable: %d reading(s) spooled to %s", count, self.path)
        return count

    def pending_files(self) -> list[Path]:
        """Files waiting to be flushed, oldest first (an interrupted flush leaves a .flushing file)."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.flushing")) + ([self.path] if self.path.exists() else [])

    def pending_count(self) -> int:
        """Readings waiting (for the live page and the job summary)."""
        return sum(1 for path in self.pending_files() for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip())

    def flush(self, store: Callable[[list[RawReading]], None]) -> int:
        """Hand every spooled reading to ``store``; delete a file only once ``store`` returned.

        One flusher at a time per folder (a non-blocking ``flock``): a second collector on the
        same machine skips the flush rather than racing for the same files. A line that does not
        parse (cut short by a crash) is kept aside in ``rejected.jsonl``, never blocks the rest.
        """
        if not self.folder.is_dir():
            return 0
        flushed = 0
        with (self.folder / "flush.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another collector is flushing %s", self.folder)
                return 0
            for path in self.pending_files():
                if path == self.path:
                    target = path.with_name(f"{path.stem}-{os.getpid()}-{path.stat().st_mtime_ns}.flushing")
                    path.rename(target)
                    path = target
                readings = []
                for line in path.read_text(encoding="utf-8").splitlines():
                    if not line.strip():
                        continue
                    try:
                        readings.append(RawReading.from_json(json.loads(line)))
                    except (ValueError, TypeError, KeyError) as exc:
                        log.error("unreadable spool line kept aside (%s): %.200s", exc, line)
                        with (self.folder / "rejected.jsonl").open("a", encoding="utf-8") as rejected:
                            rejected.write(line + "\n")
                store(readings)  # raises when the database is still down: the file stays for next time
                path.unlink()
                flushed += len(readings)
        if flushed:
            log.info("flushed %d spooled reading(s)", flushed)
        return flushed
