"""The collect job: sync the YAML, flush the spool, then claim due endpoints, read them, store every attempt.

It runs every minute and decides itself which endpoints are due (each has its own poll
interval, kept in ``cm_endpoint.next_due_at``), so cron, the daemon and a restart agree.
The parts: ``collect_online.py`` (claim, read, store in batches), ``collect_offline.py`` (the
spool and the local due state while the database is down) and ``schedule.py`` (the one rule
for when an endpoint is due again).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from nxforge.sdk import ConfigProblem, JobContext, ModuleContext, ScrapeRequest

from . import claims
from .alerts import AlertRules, evaluate_alerts
from .collect_config import load_endpoints_isolated
from .collect_offline import flush_spool, load_due, read_offline, save_due, snapshot_due
from .collect_online import RunTally, Writer, read_claimed, spool_for
from .config import EndpointSet
from .settings import MonitorSettings
from .store import ensure_partitions
from .sync import SyncReport, sync_endpoints

log = logging.getLogger(__name__)

PROBLEMS_FILE = "config_problems.json"
PARSED_FOLDER = "parsed-yaml"  # parse_cache.py: endpoint files parsed by earlier runs
MAX_LISTED = 50

__all__ = ["claims", "flush_spool", "run", "spool_for", "sync_now"]


def sync_now(ctx: ModuleContext) -> tuple[EndpointSet, SyncReport]:
    """Load the endpoint YAML and mirror it into the database (the collect job and the app call this).

    A refused file or endpoint costs only itself: the valid ones are synced, the problems are in
    ``report.problems``, and nothing is retired while there are any.
    """
    settings = MonitorSettings.from_context(ctx)
    endpoints, problems = load_endpoints_isolated(ctx.config_dir, ctx.storage / PARSED_FOLDER)
    report = sync_endpoints(ctx.db, endpoints, now=ctx.clock(), tz=settings.timezone,
                            default_poll_s=settings.default_poll_s, default_rollover_kwh=settings.rollover_kwh,
                            default_max_kw=settings.default_max_kw, retire=not problems)
    report.problems = problems
    return endpoints, report


def _report_problems(ctx: JobContext, problems: list[ConfigProblem]) -> None:
    """Each refused file or endpoint is a log line every run, and an event when the set of problems changes."""
    for problem in problems:
        log.error("not read: %s", problem)
    fingerprint = ctx.storage / PROBLEMS_FILE
    current = sorted(str(problem) for problem in problems)
    try:
        previous = json.loads(fingerprint.read_text("utf-8"))
    except (OSError, ValueError):
        previous = []
    if current == previous:
        return
    try:
        if current:
            ctx.emit("config.refused", f"{len(current)} problem(s) in the endpoint YAML; those endpoints are not "
                     f"read, the others are: {current[0]}" + (" ..." if len(current) > 1 else ""), "error",
                     {"problems": current[:MAX_LISTED]})
        elif previous:
            ctx.emit("config.fixed", "the endpoint YAML reads without problems again", "info", {})
    except Exception as exc:  # an event must never cost a reading
        log.warning("could not record the configuration problems as an event: %s", exc)
        return
    try:
        ctx.storage.mkdir(parents=True, exist_ok=True)
        fingerprint.write_text(json.dumps(current), "utf-8")
    except OSError as exc:
        log.error("could not keep the configuration problems' fingerprint (%s): the event may repeat", exc)


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
    except OSError as exc:  # a full disk is one line, not a traceback
        log.error("alert state not saved (%s); the readings of this run are stored", exc)
    except Exception:  # alerts must never cost a run its readings, which are already stored
        log.exception("alert evaluation failed; the readings of this run are stored")


def _start_engine(ctx: JobContext) -> None:
    """Start the scraping engine (its loop thread, its TLS contexts) in the background while the sync runs.

    Loading the certificates for TLS runs without the GIL, so it overlaps the YAML parse and the
    sync's writes instead of waiting for them (about 0.1 s of a cron run). A failure here is met
    again, and reported, where the job first uses the engine.
    """

    def start() -> None:
        try:
            ctx.scraping()
        except Exception as exc:
            log.debug("scraping engine not started early: %s", exc)

    threading.Thread(target=start, name=f"{threading.current_thread().name}-engine", daemon=True).start()


def run(ctx: JobContext) -> dict[str, Any]:
    """The job handler: returns {total, ok, failed, failed_by_class, duration_s, spooled, flushed, ...}.

    With the database unreachable (at the start or mid-run) it keeps reading: due endpoints come
    from the YAML and the due times saved by the last run that reached the database, readings go
    to the spool, and the next run that reaches the database flushes them.
    """
    started = time.monotonic()
    only = list(ctx.filters.get("endpoint") or []) or None
    if ctx.filters.get("dry_run"):
        readable, refused = load_endpoints_isolated(ctx.config_dir)
        for problem in refused:
            print(f"not read: {problem}")
        return _dry_run(ctx, readable, only)
    settings = MonitorSettings.from_context(ctx)
    _start_engine(ctx)
    online = True
    report = SyncReport()
    flushed = 0
    due = load_due(ctx)
    try:
        endpoints, report = sync_now(ctx)
        with ctx.db.begin() as conn:
            now = ctx.clock()
            ensure_partitions(conn, now - timedelta(days=1), now + timedelta(days=62))
        flushed = flush_spool(ctx)
        due = snapshot_due(ctx)
    except OperationalError as exc:
        log.error("database unreachable (%s): collecting into the spool", exc.orig)
        endpoints, report.problems = load_endpoints_isolated(ctx.config_dir, ctx.storage / PARSED_FOLDER)
        online = False
    _report_problems(ctx, report.problems)
    tally = RunTally()
    owner = f"{socket.gethostname()}:{os.getpid()}:{ctx.execution_id}"
    writer = Writer(ctx, settings, endpoints.by_id(), tally, online, owner)
    if online:
        read_claimed(ctx, settings, writer, only)
    else:
        ctx.progress(0, 0)
    if not writer.online and not ctx.should_stop():
        read_offline(ctx, endpoints, writer, due, only, settings.evidence_on_success)
    try:
        save_due(ctx, {**due, **writer.next_due})
    except OSError as exc:  # only an optimisation for offline runs: the readings matter, not this file
        log.error("due times not saved for offline runs: %s", exc)
    writer.raise_if_unkept()
    ctx.metrics.spool_size(spool_for(ctx).pending_count())
    if writer.online and writer.next_due:
        _raise_alerts(ctx, list(writer.next_due), settings)
    summary: dict[str, Any] = {
        "total": tally.ok + tally.failed, "ok": tally.ok, "failed": tally.failed,
        "failed_by_class": dict(tally.failed_by_class), "duration_s": round(time.monotonic() - started, 3),
        "spooled": tally.spooled, "flushed": flushed, "database": "ok" if writer.online else "unreachable",
        "endpoints": {"added": len(report.added), "updated": len(report.updated), "retired": len(report.retired)},
    }
    if report.problems:  # the collector exits 2 for these (the rest of the run completed)
        summary["config_problems"] = [str(problem) for problem in report.problems[:MAX_LISTED]]
        summary["config_problems_total"] = len(report.problems)
    log.info("collect: %s", summary)
    return summary
