"""Execution records that could not be written because the database went away: kept on disk, written later.

A run that started while the database answered and finished after it stopped leaves its
executions row saying ``running``. Without its end on record, the next collector would take it for
a run whose collector died and mark it abandoned. So the end waits in ``unrecorded.jsonl`` under
the data folder, and every collector run writes what waits there before it judges stale runs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from nxforge.db.schema import executions

if TYPE_CHECKING:
    from nxforge.platform import Platform

log = logging.getLogger(__name__)

FILE_NAME = "unrecorded.jsonl"


def _path(platform: Platform) -> Path:
    return platform.env.data_dir / "collector" / FILE_NAME


def keep_unrecorded(platform: Platform, execution_id: int, values: dict[str, Any]) -> None:
    """Append the end of execution ``execution_id`` to the file (best effort: a full disk loses only the record)."""
    path = _path(platform)
    line = json.dumps({"id": execution_id, **values, "finished_at": values["finished_at"].isoformat()}, default=str)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.error("execution %d could not be kept for later recording (%s); it may be reported abandoned",
                  execution_id, exc)


def record_unrecorded(platform: Platform) -> int:
    """Write every kept execution end to the database; return how many. Raises OperationalError when still down."""
    path = _path(platform)
    if not path.exists():
        return 0
    with path.open("r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lines = [line for line in handle.read().splitlines() if line.strip()]
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except ValueError:
                log.error("unreadable line in %s dropped: %.200s", path, line)
        with platform.engine.begin() as conn:
            for row in rows:
                execution_id = int(row.pop("id"))
                row["finished_at"] = datetime.fromisoformat(row["finished_at"])
                conn.execute(update(executions).where(executions.c.id == execution_id,
                                                      executions.c.status == "running").values(**row))
        handle.seek(0)
        handle.truncate()
    if rows:
        log.info("recorded the end of %d run(s) that finished while the database was unreachable", len(rows))
    return len(rows)
