"""Keep two collectors from running the same job at once.

SQLite (one machine): an exclusive file lock per job. PostgreSQL: a session advisory lock per
job, unless the job is declared ``concurrent`` because it claims its own rows with
``FOR UPDATE SKIP LOCKED`` (several collectors then share the work).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, lock_dir: Path, name: str, concurrent: bool) -> Iterator[bool]:
    """Yield True when this process holds the job, False when another collector already runs it."""
    if engine.dialect.name == "postgresql":
        if concurrent:
            yield True
            return
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(name)}).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(name)})
                conn.commit()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / (name.replace("/", "__") + ".lock")
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
