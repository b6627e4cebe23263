"""The collect job's online path: claim due endpoints, read them, store every attempt in batches.

A batch goes to the database in one transaction (one multi-row INSERT, then the rescheduling
rule of ``schedule.py``); when the database cannot be reached the batch goes to the spool and the
writer stays offline for the rest of the run (``collect_offline.py`` takes over).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from nxforge.sdk import JobContext, ModuleContext, ScrapeRequest, ScrapeResult

from . import claims
from .config import Endpoint
from .readings import RawReading, reading_from_result
from .schedule import next_due, reschedule
from .settings import MonitorSettings
from .spool import Spool, SpoolFullError
from .store import StoreOutcome, store_batch
from .tables import reading

log = logging.getLogger(__name__)


@dataclass
class RunTally:
    """Counts for the job summary."""

    ok: int = 0
    failed: int = 0
    spooled: int = 0
    failed_by_class: Counter[str] = field(default_factory=Counter)

    def count(self, raw: RawReading) -> None:
        """Count one attempt."""
        if raw.success:
            self.ok += 1
        else:
            self.failed += 1
            self.failed_by_class[raw.error_class or "unknown"] += 1


def spool_for(ctx: ModuleContext) -> Spool:
    """The module's spool folder, and its fallback under $TMPDIR (else the system temporary folder) for a full disk."""
    site = hashlib.sha256(str(ctx.storage.resolve()).encode()).hexdigest()[:16]
    temporary = Path(os.environ.get("TMPDIR") or tempfile.gettempdir())
    return Spool(ctx.storage / "spool", temporary / f"nxforge-spool-{os.getuid()}" / site)


def _emit(ctx: ModuleContext, kind: str, message: str, severity: str, data: dict[str, Any]) -> None:
    try:
        ctx.emit(kind, message, severity, data)
    except Exception as exc:  # an event must never cost a reading
        log.warning("could not record event %s (%s): %s", kind, message, exc)


def _already_at_ceiling(ctx: ModuleContext, raw: RawReading) -> bool:
    """True when the endpoint's previous successful reading was held at its ceiling too (announced then)."""
    try:
        with ctx.db.connect() as conn:
            previous = conn.execute(
                select(reading.c.event).where(reading.c.endpoint_id == raw.endpoint_id, reading.c.success,
                                              reading.c.read_at < raw.read_at)
                .order_by(reading.c.read_at.desc()).limit(1)
            ).first()
    except SQLAlchemyError as exc:  # better told twice than never
        log.warning("could not read %s's previous reading (%s): announcing its ceiling", raw.endpoint_id, exc)
        return False
    return previous is not None and previous.event == "ceiling"


def _announce(ctx: ModuleContext, raw: RawReading, outcome: StoreOutcome | None) -> None:
    data = {"endpoint": raw.endpoint_id, "at": raw.read_at.isoformat()}
    if not raw.success:
        _emit(ctx, "scrape.failed", f"{raw.endpoint_id}: {raw.error_class}: {raw.error_message}", "warning",
              {**data, "error_class": raw.error_class})
        return
    event = outcome.corrected.event if outcome and outcome.corrected else None
    if event in ("reset", "rollover"):
        assert outcome is not None and outcome.corrected is not None
        _emit(ctx, "meter.reset", f"{raw.endpoint_id}: counter {event} detected at {raw.raw_kwh} kWh", "warning",
              {**data, "event": event, "raw_kwh": raw.raw_kwh, "estimated_kwh": outcome.corrected.estimated_kwh})
    elif event == "implausible":
        _emit(ctx, "reading.implausible", f"{raw.endpoint_id}: {raw.raw_kwh} kWh is implausible; held for review, "
              "not billed", "warning", {**data, "raw_kwh": raw.raw_kwh})
    elif event == "ceiling" and not _already_at_ceiling(ctx, raw):  # once per stretch, not every poll
        _emit(ctx, "meter.ceiling", f"{raw.endpoint_id}: the energy counter stopped at its maximum "
              f"({raw.raw_kwh} kWh, declared ceiling {raw.ceiling_kwh} kWh) and counts nothing until it is reset; "
              "reset it on the device. Readings are held, not billed, until then", "warning",
              {**data, "raw_kwh": raw.raw_kwh, "ceiling_kwh": raw.ceiling_kwh})


class Writer:
    """Stores attempts in batches (one transaction, one multi-row INSERT each) and reschedules their endpoints.

    A batch is written when ``write_batch`` attempts wait or a second has passed since the first,
    so a collector killed mid-run loses at most that much unwritten work (its claims expire and
    the endpoints are read again). When the database cannot be reached the batch goes to the
    spool instead and the writer stays offline for the rest of the run.
    """

    def __init__(self, ctx: JobContext, settings: MonitorSettings, by_id: dict[str, Endpoint], tally: RunTally,
                 online: bool, owner: str) -> None:
        self.ctx, self.settings, self.by_id, self.tally = ctx, settings, by_id, tally
        self.online, self.owner = online, owner
        self.pending: list[RawReading] = []
        self.first_at = 0.0
        self.next_due: dict[str, datetime] = {}
        """Endpoints attempted this run and when each is due again (kept on disk for offline runs)."""
        self.unkept = 0
        self.disk_error: SpoolFullError | None = None

    def add(self, raw: RawReading) -> None:
        """Queue one attempt; write the queue when it is full or a second old."""
        if not self.pending:
            self.first_at = time.monotonic()
        self.pending.append(raw)
        self.ctx.metrics.scrape(
            raw.endpoint_id, "ok" if raw.success else (raw.error_class or "failed"), (raw.duration_ms or 0) / 1000,
            raw.engine or "unknown", raw.read_at.timestamp() if raw.success else None,
        )
        poll = self.by_id[raw.endpoint_id].poll_interval_s(self.settings.default_poll_s)
        self.next_due[raw.endpoint_id] = next_due(raw.read_at, poll)
        if len(self.pending) >= self.settings.write_batch or time.monotonic() - self.first_at >= 1.0:
            self.flush()

    def flush(self) -> None:
        """Write what is queued (or spool it)."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        for raw in batch:
            self.tally.count(raw)
        if self.online:
            try:
                with self.ctx.db.begin() as conn:
                    outcomes = store_batch(conn, batch)
                    reschedule(conn, batch, self.owner)
            except OperationalError as exc:
                log.error("database write failed (%s): spooling %d reading(s)", exc.orig, len(batch))
                self.online = False
            else:
                for raw, outcome in zip(batch, outcomes, strict=True):
                    _announce(self.ctx, raw, outcome)
                return
        try:
            spool_for(self.ctx).append(batch, claimed_by=self.owner)  # the flush releases these claims
        except SpoolFullError as exc:
            # Raising here would be swallowed by the scraping engine's callback guard: remember, fail at the end.
            self.unkept += exc.count
            self.disk_error = self.disk_error or exc
            return
        self.tally.spooled += len(batch)

    def raise_if_unkept(self) -> None:
        """End the run with one clear error when readings could be kept neither in the database nor a spool."""
        if self.disk_error is not None:
            raise SpoolFullError(self.disk_error.errno or 0, self.unkept, self.disk_error.reasons)


def read_claimed(ctx: JobContext, settings: MonitorSettings, writer: Writer, only: list[str] | None) -> None:
    """Claim due endpoints batch by batch, read them and hand every attempt to ``writer``, until none is due.

    Each batch is claimed while the engine still reads the one before (``scrape_batches``), so
    the engine does not wait for the claim. Stops early when the run is asked to stop or the
    database goes away (the writer then spools; what the engine already holds is still read).
    """
    lease = timedelta(seconds=settings.claim_lease_s)
    batch_size = settings.claim_batch or int(ctx.job_config["batch_size"])  # 0: the job config (manifest) decides
    tally = writer.tally
    unknown: list[str] = []  # claimed but not in the YAML we could read: held to the end, so not claimed again
    total = 0

    def batches() -> Iterator[list[ScrapeRequest]]:
        while True:
            writer.flush()  # what the last batch read is stored before more is claimed
            if not writer.online or ctx.should_stop():
                return
            claimed = claims.claim_due(ctx.db, owner=writer.owner, now=ctx.clock(), lease=lease, limit=batch_size,
                                       only=only)
            if not claimed:
                return
            unknown.extend(endpoint_id for endpoint_id in claimed if endpoint_id not in writer.by_id)
            yield [ScrapeRequest(key=endpoint_id, config=writer.by_id[endpoint_id].scrape,
                                 capture_evidence=settings.evidence_on_success)
                   for endpoint_id in claimed if endpoint_id in writer.by_id]
            if only:
                return  # named endpoints are read once per run

    def on_result(result: ScrapeResult) -> None:
        writer.add(reading_from_result(result.key, result, ctx.clock()))
        ctx.progress(tally.ok + tally.failed + len(writer.pending), max(total, len(writer.next_due)))

    try:
        total = claims.count_due(ctx.db, ctx.clock(), only)
        ctx.progress(0, total)
        ctx.scraping().scrape_batches(batches(), on_result=on_result)
        claims.release(ctx.db, writer.owner, unknown)
    except OperationalError as exc:
        log.error("database unreachable mid-run (%s): the rest goes to the spool", exc.orig)
        writer.online = False
    writer.flush()
