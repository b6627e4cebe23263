"""The collect job: sync the YAML, flush the spool, then claim due endpoints, read them, store every attempt.

It runs every minute and decides itself which endpoints are due (each has its own poll
interval, kept in ``cm_endpoint.next_due_at``), so cron, the daemon and a restart agree.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.exc import OperationalError

from nxforge.sdk import JobContext, ModuleContext, ScrapeRequest, ScrapeResult, UTCDateTime

from . import claims
from .alerts import AlertRules, evaluate_alerts
from .config import Endpoint, EndpointSet, load_endpoints
from .readings import RawReading, reading_from_result
from .settings import MonitorSettings
from .spool import Spool
from .store import StoreOutcome, ensure_partitions, store_batch
from .sync import SyncReport, sync_endpoints
from .tables import endpoint

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
    """The module's spool folder."""
    return Spool(ctx.storage / "spool")


def sync_now(ctx: ModuleContext) -> tuple[EndpointSet, SyncReport]:
    """Load the endpoint YAML and mirror it into the database (the collect job and the app call this)."""
    settings = MonitorSettings.from_context(ctx)
    endpoints = load_endpoints(ctx.config_dir)
    report = sync_endpoints(ctx.db, endpoints, now=ctx.clock(), tz=settings.timezone,
                            default_poll_s=settings.default_poll_s, default_rollover_kwh=settings.rollover_kwh,
                            default_max_kw=settings.default_max_kw)
    return endpoints, report


def flush_spool(ctx: ModuleContext) -> int:
    """Store what earlier runs spooled; the reading key makes a repeated flush harmless."""

    def store_all(readings: list[RawReading]) -> None:
        with ctx.db.begin() as conn:
            store_batch(conn, readings)
            _reschedule(conn, readings)

    return spool_for(ctx).flush(store_all)


def _reschedule(conn: Connection, readings: list[RawReading]) -> None:
    """After a late (spooled) store: move each endpoint's next due time past its latest reading, never back."""
    latest: dict[str, RawReading] = {}
    for raw in readings:
        if raw.endpoint_id not in latest or raw.read_at > latest[raw.endpoint_id].read_at:
            latest[raw.endpoint_id] = raw
    if not latest:
        return
    rows = conn.execute(select(endpoint.c.id, endpoint.c.poll_interval_s, endpoint.c.next_due_at,
                               endpoint.c.last_attempt_at, endpoint.c.last_success_at)
                        .where(endpoint.c.id.in_(sorted(latest)))).fetchall()
    changes = []
    for row in rows:
        raw = latest[row.id]
        due = raw.read_at + timedelta(seconds=row.poll_interval_s)
        changes.append({
            "key": row.id,
            "next_due_at": max(due, row.next_due_at) if row.next_due_at else due,
            "last_attempt_at": max(raw.read_at, row.last_attempt_at) if row.last_attempt_at else raw.read_at,
            "last_success_at": (max(raw.read_at, row.last_success_at or raw.read_at) if raw.success
                                else row.last_success_at),
        })
    if changes:
        conn.execute(update(endpoint).where(endpoint.c.id == bindparam("key")), changes)


def _emit(ctx: ModuleContext, kind: str, message: str, severity: str, data: dict[str, Any]) -> None:
    try:
        ctx.emit(kind, message, severity, data)
    except Exception as exc:  # an event must never cost a reading
        log.warning("could not record event %s (%s): %s", kind, message, exc)


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
        _emit(ctx, "reading.implausible", f"{raw.endpoint_id}: {raw.raw_kwh} kWh is implausible; left out of billing",
              "warning", {**data, "raw_kwh": raw.raw_kwh})


class Writer:
    """Stores attempts in batches (one transaction, one multi-row INSERT each) and reschedules their endpoints.

    A batch is written when ``write_batch`` attempts wait or a second has passed since the first,
    so a collector killed mid-run loses at most that much unwritten work (its claims expire and
    the endpoints are read again). When the database cannot be reached the batch goes to the
    spool instead and the writer stays offline for the rest of the run.
    """

    def __init__(self, ctx: JobContext, settings: MonitorSettings, by_id: dict[str, Endpoint], tally: RunTally,
                 online: bool) -> None:
        self.ctx, self.settings, self.by_id, self.tally = ctx, settings, by_id, tally
        self.online = online
        self.pending: list[RawReading] = []
        self.first_at = 0.0
        self.next_due: dict[str, datetime] = {}

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
        self.next_due[raw.endpoint_id] = raw.read_at + timedelta(seconds=poll)
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
                    self._reschedule(conn, batch)
            except OperationalError as exc:
                log.error("database write failed (%s): spooling %d reading(s)", exc.orig, len(batch))
                self.online = False
            else:
                for raw, outcome in zip(batch, outcomes, strict=True):
                    _announce(self.ctx, raw, outcome)
                return
        spool_for(self.ctx).append(batch)
        self.tally.spooled += len(batch)

    def _reschedule(self, conn: Connection, batch: list[RawReading]) -> None:
        changes = [{"key": raw.endpoint_id, "at": raw.read_at, "due": self.next_due[raw.endpoint_id],
                    "success_at": raw.read_at if raw.success else None} for raw in batch]
        conn.execute(
            update(endpoint).where(endpoint.c.id == bindparam("key")).values(
                last_attempt_at=bindparam("at", type_=UTCDateTime()), next_due_at=bindparam("due", type_=UTCDateTime()),
                last_success_at=func.coalesce(bindparam("success_at", type_=UTCDateTime()), endpoint.c.last_success_at),
                claimed_by=None, claimed_until=None),
            changes,
        )


# ----- the due state kept locally, for runs while the database is down ------------------------
DUE_FILE = "due.json"


def _load_due(ctx: ModuleContext) -> dict[str, datetime]:
    path = ctx.storage / DUE_FILE
    try:
        return {key: datetime.fromisoformat(value) for key, value in json.loads(path.read_text("utf-8")).items()}
    except (OSError, ValueError):
        return {}


def _save_due(ctx: ModuleContext, due: dict[str, datetime]) -> None:
    ctx.storage.mkdir(parents=True, exist_ok=True)
    temporary = ctx.storage / f"{DUE_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({key: value.isoformat() for key, value in sorted(due.items())}), "utf-8")
    temporary.replace(ctx.storage / DUE_FILE)


def _snapshot_due(ctx: ModuleContext) -> dict[str, datetime]:
    """Every endpoint's next due time, from the database (kept on disk for offline runs)."""
    with ctx.db.connect() as conn:
        rows = conn.execute(select(endpoint.c.id, endpoint.c.next_due_at).where(endpoint.c.next_due_at.is_not(None)))
        return {row.id: row.next_due_at for row in rows}


def _read_offline(ctx: JobContext, endpoints: EndpointSet, writer: Writer, due: dict[str, datetime],
                  only: list[str] | None, evidence: bool) -> None:
    """The database is down: read what the YAML and the local due state say is due, into the spool."""
    now = ctx.clock()
    chosen = [e for e in endpoints.endpoints if e.enabled and (e.id in only if only else due.get(e.id, now) <= now)
              and e.id not in writer.next_due]
    log.warning("database unreachable: reading %d due endpoint(s) from the YAML into the spool", len(chosen))
    requests = [ScrapeRequest(key=e.id, config=e.scrape, capture_evidence=evidence) for e in chosen]
    for index in range(0, len(requests), 200):
        if ctx.should_stop():
            break
        ctx.scraping().scrape_many(requests[index:index + 200],
                                   on_result=lambda result: writer.add(reading_from_result(result.key, result,
                                                                                           ctx.clock())))
        writer.flush()


def _dry_run(ctx: JobContext, endpoints: EndpointSet, only: list[str] | None) -> dict[str, Any]:
    chosen = [e for e in endpoints.endpoints if e.enabled and (not only or e.id in only)]
    requests = [ScrapeRequest(key=e.id, config=e.scrape) for e in chosen]
    results = ctx.scraping().scrape_many(requests)
    values = {}
    for result in results:
        shown = {k: v.value for k, v in result.values.items()} if result.ok else f"{result.error}"
        print(f"{result.key}: {shown}")
        values[result.key] = shown
    return {"dry_run": True, "total": len(results), "ok": sum(r.ok for r in results), "values": values}


def _raise_alerts(ctx: JobContext, endpoint_ids: list[str], settings: MonitorSettings) -> None:
    rules = AlertRules(settings.failures_before_alert, settings.alert_threshold_kwh)
    try:
        evaluate_alerts(ctx, endpoint_ids, rules, ctx.clock(), settings.timezone)
    except Exception:  # alerts must never cost a run its readings, which are already stored
        log.exception("alert evaluation failed; the readings of this run are stored")


def run(ctx: JobContext) -> dict[str, Any]:
    """The job handler: returns {total, ok, failed, failed_by_class, duration_s, spooled, flushed, ...}.

    With the database unreachable (at the start or mid-run) it keeps reading: due endpoints come
    from the YAML and the due times saved by the last run that reached the database, readings go
    to the spool, and the next run that reaches the database flushes them.
    """
    started = time.monotonic()
    only = list(ctx.filters.get("endpoint") or []) or None
    if ctx.filters.get("dry_run"):
        return _dry_run(ctx, load_endpoints(ctx.config_dir), only)
    settings = MonitorSettings.from_context(ctx)
    online = True
    report = SyncReport()
    flushed = 0
    due = _load_due(ctx)
    try:
        endpoints, report = sync_now(ctx)
        with ctx.db.begin() as conn:
            now = ctx.clock()
            ensure_partitions(conn, now - timedelta(days=1), now + timedelta(days=62))
        flushed = flush_spool(ctx)
        due = _snapshot_due(ctx)
    except OperationalError as exc:
        log.error("database unreachable (%s): collecting into the spool", exc.orig)
        endpoints, online = load_endpoints(ctx.config_dir), False
    by_id = endpoints.by_id()
    owner = f"{socket.gethostname()}:{os.getpid()}:{ctx.execution_id}"
    lease = timedelta(seconds=settings.claim_lease_s)
    batch_size = settings.claim_batch or int(ctx.job_config.get("batch_size") or 200)
    tally = RunTally()
    writer = Writer(ctx, settings, by_id, tally, online)
    total = 0
    try:
        total = claims.count_due(ctx.db, ctx.clock(), only) if online else 0
        ctx.progress(0, total)
        while writer.online and not ctx.should_stop():
            claimed = claims.claim_due(ctx.db, owner=owner, now=ctx.clock(), lease=lease, limit=batch_size, only=only)
            if not claimed:
                break
            unknown = [endpoint_id for endpoint_id in claimed if endpoint_id not in by_id]
            claims.release(ctx.db, owner, unknown)
            batch: list[Endpoint] = [by_id[endpoint_id] for endpoint_id in claimed if endpoint_id in by_id]
            requests = [ScrapeRequest(key=e.id, config=e.scrape, capture_evidence=settings.evidence_on_success)
                        for e in batch]

            def on_result(result: ScrapeResult) -> None:
                writer.add(reading_from_result(result.key, result, ctx.clock()))
                ctx.progress(tally.ok + tally.failed + len(writer.pending), max(total, len(writer.next_due)))

            ctx.scraping().scrape_many(requests, on_result=on_result)
            writer.flush()
            if only:
                break  # named endpoints are read once per run
    except OperationalError as exc:
        log.error("database unreachable mid-run (%s): the rest goes to the spool", exc.orig)
        writer.online = False
    writer.flush()
    if not writer.online and not ctx.should_stop():
        _read_offline(ctx, endpoints, writer, due, only, settings.evidence_on_success)
    _save_due(ctx, {**due, **writer.next_due})
    ctx.metrics.spool_size(spool_for(ctx).pending_count())
    if writer.online and writer.next_due:
        _raise_alerts(ctx, list(writer.next_due), settings)
    summary: dict[str, Any] = {
        "total": tally.ok + tally.failed, "ok": tally.ok, "failed": tally.failed,
        "failed_by_class": dict(tally.failed_by_class), "duration_s": round(time.monotonic() - started, 3),
        "spooled": tally.spooled, "flushed": flushed, "database": "ok" if writer.online else "unreachable",
        "endpoints": {"added": len(report.added), "updated": len(report.updated), "retired": len(report.retired)},
    }
    log.info("collect: %s", summary)
    return summary
