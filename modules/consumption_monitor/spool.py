"""Nothing lost: readings that cannot reach the database wait in a JSONL file until the next run.

Each line is one ``RawReading``, with the collector that had claimed its endpoint (``claimed_by``)
so the flush can release that claim. A flush renames the file first (so readings spooled during
the flush go to a fresh file), stores every line (the reading key makes a second flush store
nothing new), and deletes the renamed file only when all of it is stored.

A full disk: a batch is written whole or not at all (a short write is cut back, so no torn line
is left), then tried in the fallback folder (another file system, normally the system's temporary
folder); only when neither takes it does ``append`` raise an OSError that says which folders and
how many readings, and the collector exits 4. The next flush reads both folders.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from .readings import RawReading

log = logging.getLogger(__name__)

SPOOL_FILE = "readings.jsonl"


class SpoolFullError(OSError):
    """Neither the spool folder nor its fallback took a batch: says how many readings and why each folder refused."""

    def __init__(self, code: int, count: int, reasons: str) -> None:
        super().__init__(code, f"disk full or spool unwritable: {count} reading(s) could not be kept ({reasons})")
        self.count = count
        self.reasons = reasons


class Spool:
    """A folder holding readings not yet stored, and a fallback folder for when its disk is full."""

    def __init__(self, folder: Path, fallback: Path | None = None) -> None:
        self.folder = folder
        self.fallback = fallback

    @property
    def path(self) -> Path:
        """The file new readings are appended to."""
        return self.folder / SPOOL_FILE

    def append(self, readings: Iterable[RawReading], claimed_by: str | None = None) -> int:
        """Append readings durably (fsync), return how many; ``claimed_by`` is the collector holding their claims.

        Several collectors on one machine share the folder: the batch is one ``write`` on an
        ``O_APPEND`` descriptor under an exclusive ``flock``, so lines never interleave.
        """
        lines = []
        for item in readings:
            line = item.to_json()
            if claimed_by is not None:
                line["claimed_by"] = claimed_by
            lines.append(json.dumps(line) + "\n")
        if not lines:
            return 0
        payload = "".join(lines).encode("utf-8")
        folders = [self.folder] + ([self.fallback] if self.fallback is not None else [])
        refused: list[str] = []
        last_errno = errno.ENOSPC
        for folder in folders:
            try:
                if folder == self.fallback:
                    _ensure_private(folder.parent)
                _append_whole(folder / SPOOL_FILE, payload)
            except OSError as exc:
                refused.append(f"{folder}: {exc.strerror or exc}")
                last_errno = exc.errno or errno.ENOSPC
                continue
            if folder != self.folder:
                log.error("spool folder %s cannot be written (%s): %d reading(s) spooled to %s instead",
                          self.folder, refused[0], len(lines), folder)
            else:
                log.warning("database unavailable: %d reading(s) spooled to %s", len(lines), self.path)
            return len(lines)
        raise SpoolFullError(last_errno, len(lines), "; ".join(refused))

    def pending_files(self) -> list[Path]:
        """Files waiting to be flushed, oldest first (an interrupted flush leaves a .flushing file), both folders."""
        found: list[Path] = []
        for folder in [self.folder] + ([self.fallback] if self.fallback is not None else []):
            if folder.is_dir():
                current = folder / SPOOL_FILE
                found += sorted(folder.glob("*.flushing")) + ([current] if current.exists() else [])
        return found

    def pending_count(self) -> int:
        """Readings waiting (for the live page and the job summary)."""
        return sum(1 for path in self.pending_files() for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip())

    def flush(self, store: Callable[[list[RawReading]], None]) -> int:
        """Hand every spooled reading to ``store``; delete a file only once ``store`` returned."""
        return self.flush_claimed(lambda readings, _owners: store(readings))

    def flush_claimed(self, store: Callable[[list[RawReading], list[str | None]], None]) -> int:
        """``flush``, handing ``store`` each reading's claim owner too (None when it was read unclaimed).

        One flusher at a time per folder (a non-blocking ``flock``): a second collector on the
        same machine skips the flush rather than racing for the same files. A line that does not
        parse (cut short by a crash) is kept aside in ``rejected.jsonl``, never blocks the rest.
        """
        flushed = 0
        for folder in [self.folder] + ([self.fallback] if self.fallback is not None else []):
            if folder.is_dir():
                flushed += self._flush_folder(folder, store)
        if flushed:
            log.info("flushed %d spooled reading(s)", flushed)
        return flushed

    def _flush_folder(self, folder: Path, store: Callable[[list[RawReading], list[str | None]], None]) -> int:
        flushed = 0
        with (folder / "flush.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another collector is flushing %s", folder)
                return 0
            current = folder / SPOOL_FILE
            pending = sorted(folder.glob("*.flushing")) + ([current] if current.exists() else [])
            for path in pending:
                if path == current:
                    target = path.with_name(f"{path.stem}-{os.getpid()}-{path.stat().st_mtime_ns}.flushing")
                    path.rename(target)
                    path = target
                readings: list[RawReading] = []
                owners: list[str | None] = []
                for line in path.read_text(encoding="utf-8").splitlines():
                    if not line.strip():
                        continue
                    try:
                        data = json.loads(line)
                        owner = data.pop("claimed_by", None)
                        readings.append(RawReading.from_json(data))
                    except (ValueError, TypeError, KeyError, AttributeError) as exc:
                        log.error("unreadable spool line kept aside (%s): %.200s", exc, line)
                        with (folder / "rejected.jsonl").open("a", encoding="utf-8") as rejected:
                            rejected.write(line + "\n")
                        continue
                    owners.append(owner if isinstance(owner, str) else None)
                store(readings, owners)  # raises when the database is still down: the file stays for next time
                path.unlink()
                flushed += len(readings)
        return flushed


def _ensure_private(folder: Path) -> None:
    """The fallback's parent (in a shared temporary folder) must be ours alone: created 0700, never a link."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    status = folder.lstat()
    if stat.S_ISLNK(status.st_mode) or not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() \
            or status.st_mode & 0o077:
        raise OSError(errno.EACCES, f"{folder} is not a private folder of this user; not used for the spool")


def _append_whole(path: Path, payload: bytes) -> None:
    """Append ``payload`` entirely and durably, or leave the file as it was and raise OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        start = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(payload):
                written += os.write(fd, payload[written:])
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)  # no torn line: the batch is all there or not at all
            raise
    finally:
        os.close(fd)
