"""The collect job's offline path: read into the spool while the database is down, flush it once it is back.

While the database cannot be reached, which endpoints are due comes from the YAML and the due
times the last run that reached the database saved on disk (``due.json``); readings go to the
spool. The next run that reaches the database stores them (the reading key makes a second flush
store nothing new) and moves their endpoints' due times with the same rule as any write.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, select

from nxforge.sdk import JobContext, ModuleContext, ScrapeRequest

from .collect_online import Writer, spool_for
from .config import EndpointSet
from .readings import RawReading, reading_from_result
from .schedule import lock_endpoints, reschedule
from .store import store_batch
from .tables import endpoint

log = logging.getLogger(__name__)

DUE_FILE = "due.json"
SCRAPE_CHUNK = 200


def flush_spool(ctx: ModuleContext) -> int:
    """Store what earlier runs spooled, releasing the claims their collectors held; a repeated flush is harmless."""

    def store_all(readings: list[RawReading], owners: list[str | None]) -> None:
        with ctx.db.begin() as conn:
            store_spooled(conn, readings, owners)

    return spool_for(ctx).flush_claimed(store_all)


def store_spooled(conn: Connection, readings: list[RawReading], owners: list[str | None]) -> None:
    """Store spooled readings and reschedule their endpoints, releasing each reading's collector's claims.

    The rows of every owner are locked at once, in id order, before any is rescheduled: locked owner
    by owner, a collector storing the same endpoints meanwhile could wait on one while holding another.
    """
    by_owner: dict[str | None, list[RawReading]] = {}
    for raw, owner in zip(readings, owners, strict=True):
        by_owner.setdefault(owner, []).append(raw)
    store_batch(conn, readings)
    lock_endpoints(conn, (raw.endpoint_id for raw in readings))
    for owner, claimed in by_owner.items():
        reschedule(conn, claimed, owner)  # moves due times forward and releases the owner's claims


def load_due(ctx: ModuleContext) -> dict[str, datetime]:
    """The next due times saved by the last run (empty when none were saved)."""
    path = ctx.storage / DUE_FILE
    try:
        return {key: datetime.fromisoformat(value) for key, value in json.loads(path.read_text("utf-8")).items()}
    except (OSError, ValueError):
        return {}


def save_due(ctx: ModuleContext, due: dict[str, datetime]) -> None:
    """Keep the next due times on disk (atomically), for a run that cannot reach the database."""
    ctx.storage.mkdir(parents=True, exist_ok=True)
    temporary = ctx.storage / f"{DUE_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({key: value.isoformat() for key, value in sorted(due.items())}), "utf-8")
    temporary.replace(ctx.storage / DUE_FILE)


def snapshot_due(ctx: ModuleContext) -> dict[str, datetime]:
    """Every endpoint's next due time, from the database (kept on disk for offline runs)."""
    with ctx.db.connect() as conn:
        rows = conn.execute(select(endpoint.c.id, endpoint.c.next_due_at).where(endpoint.c.next_due_at.is_not(None)))
        return {row.id: row.next_due_at for row in rows}


def read_offline(ctx: JobContext, endpoints: EndpointSet, writer: Writer, due: dict[str, datetime],
                 only: list[str] | None, evidence: bool) -> None:
    """The database is down: read what the YAML and the local due state say is due, into the spool."""
    now = ctx.clock()
    chosen = [e for e in endpoints.endpoints if e.enabled and (e.id in only if only else due.get(e.id, now) <= now)
              and e.id not in writer.next_due]
    log.warning("database unreachable: reading %d due endpoint(s) from the YAML into the spool", len(chosen))
    requests = [ScrapeRequest(key=e.id, config=e.scrape, capture_evidence=evidence) for e in chosen]

    def chunks() -> Iterator[list[ScrapeRequest]]:
        for index in range(0, len(requests), SCRAPE_CHUNK):
            if ctx.should_stop():
                return
            yield requests[index:index + SCRAPE_CHUNK]

    ctx.scraping().scrape_batches(chunks(), on_result=lambda result: writer.add(reading_from_result(
        result.key, result, ctx.clock())))
    writer.flush()
