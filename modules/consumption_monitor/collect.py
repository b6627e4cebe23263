"""The collect job: sync the YAML, flush the spool, then claim due endpoints, read them, store every attempt.

It runs every minute and decides itself which endpoints are due (each has its own poll
interval, kept in ``cm_endpoint.next_due_at``), so cron, the daemon and a restart agree.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from consumption_monitor import claims
from consumption_monitor.config import Endpoint, EndpointSet, load_endpoints
from consumption_monitor.readings import RawReading, reading_from_result
from consumption_monitor.settings import MonitorSettings
from consumption_monitor.spool import Spool
from consumption_monitor.store import StoreOutcome, store_reading
from consumption_monitor.sync import SyncReport, sync_endpoints
from consumption_monitor.tables import endpoint
from nxforge.module_system.contract import JobContext, ModuleContext
from nxforge.scraping import ScrapeRequest, ScrapeResult

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
                            default_poll_s=settings.default_poll_s, default_rollover_kwh=settings.rollover_kwh)
    return endpoints, report


def flush_spool(ctx: ModuleContext) -> int:
    """Store what earlier runs spooled; the reading key makes a repeated flush harmless."""

    def store_all(readings: list[RawReading]) -> None:
        with ctx.db.begin() as conn:
            for item in readings:
                store_reading(conn, item)

    return spool_for(ctx).flush(store_all)


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


def store_attempt(ctx: ModuleContext, raw: RawReading, poll_s: float, owner: str) -> StoreOutcome | None:
    """Store one attempt and reschedule its endpoint; on a database outage spool it instead."""
    try:
        with ctx.db.begin() as conn:
            outcome = store_reading(conn, raw)
            values: dict[str, Any] = {"last_attempt_at": raw.read_at, "claimed_by": None, "claimed_until": None,
                                      "next_due_at": raw.read_at + timedelta(seconds=poll_s)}
            if raw.success:
                values["last_success_at"] = raw.read_at
            conn.execute(update(endpoint).where(endpoint.c.id == raw.endpoint_id).values(**values))
        return outcome
    except OperationalError as exc:
        log.error("database write failed for %s (%s): spooling", raw.endpoint_id, exc.orig)
        spool_for(ctx).append([raw])
        return None


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


def run(ctx: JobContext) -> dict[str, Any]:
    """The job handler: returns {total, ok, failed, failed_by_class, duration_s, spooled, flushed, ...}."""
    started = time.monotonic()
    only = list(ctx.filters.get("endpoint") or []) or None
    if ctx.filters.get("dry_run"):
        return _dry_run(ctx, load_endpoints(ctx.config_dir), only)
    settings = MonitorSettings.from_context(ctx)
    endpoints, report = sync_now(ctx)
    flushed = flush_spool(ctx)
    by_id = endpoints.by_id()
    owner = f"{socket.gethostname()}:{os.getpid()}:{ctx.execution_id}"
    lease = timedelta(seconds=ctx.manifest.jobs[ctx.job].timeout_s if ctx.job in ctx.manifest.jobs else 600)
    batch_size = int(ctx.job_config.get("batch_size") or 200)
    total = claims.count_due(ctx.db, ctx.clock(), only)
    tally = RunTally()
    done = 0
    ctx.progress(0, total)
    while not ctx.should_stop():
        claimed = claims.claim_due(ctx.db, owner=owner, now=ctx.clock(), lease=lease, limit=batch_size, only=only)
        if not claimed:
            break
        unknown = [endpoint_id for endpoint_id in claimed if endpoint_id not in by_id]
        claims.release(ctx.db, owner, unknown)
        batch: list[Endpoint] = [by_id[endpoint_id] for endpoint_id in claimed if endpoint_id in by_id]
        requests = [ScrapeRequest(key=e.id, config=e.scrape, capture_evidence=settings.evidence_on_success)
                    for e in batch]

        def on_result(result: ScrapeResult) -> None:
            nonlocal done
            item = by_id[result.key]
            raw = reading_from_result(item.id, result, ctx.clock())
            outcome = store_attempt(ctx, raw, item.poll_interval_s(settings.default_poll_s), owner)
            tally.count(raw)
            if outcome is None:
                tally.spooled += 1
            _announce(ctx, raw, outcome)
            done += 1
            ctx.progress(done, max(total, done))

        ctx.scraping().scrape_many(requests, on_result=on_result)
        if only:
            break  # named endpoints are read once per run
    summary: dict[str, Any] = {
        "total": tally.ok + tally.failed, "ok": tally.ok, "failed": tally.failed,
        "failed_by_class": dict(tally.failed_by_class), "duration_s": round(time.monotonic() - started, 3),
        "spooled": tally.spooled, "flushed": flushed,
        "endpoints": {"added": len(report.added), "updated": len(report.updated), "retired": len(report.retired)},
    }
    log.info("collect: %s", summary)
    return summary

