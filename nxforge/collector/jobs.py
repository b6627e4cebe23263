"""Run one job: resolve its handler, enforce timeout and retries, record each attempt as an execution."""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import OperationalError

from nxforge.collector.exit_status import is_disk_error
from nxforge.collector.log_capture import capture_job_log
from nxforge.collector.memory import start_up_done
from nxforge.collector.unrecorded import keep_unrecorded
from nxforge.db.schema import executions
from nxforge.metrics import record_job
from nxforge.module_system.contract import JobContext
from nxforge.module_system.loading import HandlerError, resolve_handler
from nxforge.platform import Platform

log = logging.getLogger(__name__)

TIMEOUT_GRACE_S = 10.0
STALE_MARGIN_S = 60.0


def job_thread_name(module: str, job: str) -> str:
    """The worker thread's name, which the log capture keys on."""
    return f"job-{module}-{job}"


@dataclass
class JobRun:
    """The outcome of running a job (its last attempt)."""

    module: str
    job: str
    status: str  # ok | failed | timeout | abandoned
    execution_id: int | None
    attempts: int
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    disk_full: bool = False
    """The job stopped because a disk or folder could not take its writes (the collector exits 4)."""

    @property
    def config_problems(self) -> list[str]:
        """Configuration the job left out (a job lists them under ``config_problems`` in its summary)."""
        problems = self.summary.get("config_problems") if isinstance(self.summary, dict) else None
        return [str(problem) for problem in problems] if isinstance(problems, list) else []


def _start_execution(platform: Platform, module: str, job: str, trigger: str, attempt: int) -> int:
    with platform.engine.begin() as conn:
        result = conn.execute(
            insert(executions).values(
                module=module,
                job=job,
                trigger=trigger,
                status="running",
                attempt=attempt,
                started_at=platform.clock(),
                host=socket.gethostname(),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def _finish_execution(
    platform: Platform, execution_id: int, status: str, summary: Any, error: str | None, lines: list[str]
) -> None:
    finished_at = platform.clock()
    values = {"status": status, "finished_at": finished_at, "summary": summary, "error": error, "log": "\n".join(lines)}
    try:
        with platform.engine.begin() as conn:
            conn.execute(update(executions).where(executions.c.id == execution_id).values(**values))
    except OperationalError:
        # The run's record waits on disk: the next collector that reaches the database writes it, so a run
        # that completed while the database was down is never taken for one a dead collector left running.
        keep_unrecorded(platform, execution_id, values)
        raise


def _attempt(
    platform: Platform, ctx: JobContext, handler: Any, timeout_s: float
) -> tuple[str, dict[str, Any] | None, str | None]:
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["summary"] = handler(ctx)
        except Exception as exc:
            if is_disk_error(exc):  # one clear line: no traceback for a full disk
                ctx.log.error("job %s stopped: %s", ctx.job, exc)
                outcome["disk_full"] = True
            else:
                ctx.log.error("job %s failed: %s\n%s", ctx.job, exc, traceback.format_exc())
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=work, name=job_thread_name(ctx.name, ctx.job), daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        # Threads cannot be killed: ask the job to stop between work items, then give it a grace period.
        ctx.stop_event.set()
        worker.join(TIMEOUT_GRACE_S)
        return "timeout", outcome.get("summary"), f"the job ran longer than its timeout of {timeout_s:.0f} s"
    if "error" in outcome:
        return ("failed:disk" if outcome.get("disk_full") else "failed"), None, outcome["error"]
    summary = outcome.get("summary")
    if summary is not None and not isinstance(summary, dict):
        summary = {"result": summary}
    return ("abandoned" if ctx.should_stop() else "ok"), summary, None


def run_job(
    platform: Platform,
    module: str,
    job: str,
    *,
    trigger: str = "manual",
    filters: dict[str, Any] | None = None,
    stop_event: threading.Event | None = None,
    progress: Any = None,
) -> JobRun:
    """Run ``module``'s ``job`` with its retries; every attempt is one executions row."""
    info = platform.module(module)
    assert info.manifest is not None
    spec = info.manifest.jobs[job]
    attempts = spec.retries + 1
    run = JobRun(module, job, "failed", 0, 0)
    for attempt in range(1, attempts + 1):
        started = time.time()
        try:
            execution_id: int | None = _start_execution(platform, module, job, trigger, attempt)
        except OperationalError:
            if not spec.offline:
                raise
            log.error("%s/%s runs offline: the database is unreachable, no execution is recorded", module, job)
            execution_id = None
        extra: dict[str, Any] = {"execution_id": execution_id, "filters": dict(filters or {})}
        if stop_event is not None:
            extra["stop_event"] = stop_event
        if progress is not None:
            extra["progress"] = progress
        ctx = platform.job_context(module, job, **extra)
        status: str
        summary: dict[str, Any] | None
        error: str | None
        with capture_job_log(module, job_thread_name(module, job)) as lines:
            try:
                handler = resolve_handler(platform.env.modules_dir, spec.handler)
            except HandlerError as exc:
                start_up_done()
                status, summary, error = "failed", None, f"{exc}"
            else:
                start_up_done()  # the job's code is imported: start-up is over
                status, summary, error = _attempt(platform, ctx, handler, spec.timeout_s)
        disk_full = status == "failed:disk"
        status = "failed" if disk_full else status
        if execution_id is not None:
            try:
                _finish_execution(platform, execution_id, status, summary, error, lines)
            except OperationalError as exc:
                # The job's work is safe (an offline-capable job spooled it); only its record is lost.
                log.error("%s/%s %s, but its execution could not be recorded: %s", module, job, status, exc.orig)
        finished = time.time()
        record_job(module, job, status, finished - started, finished)
        run = JobRun(module, job, status, execution_id, attempt, summary or {}, error, disk_full)
        if status in ("ok", "abandoned") or disk_full or ctx.should_stop():
            break
        log.warning("%s/%s attempt %d of %d %s: %s", module, job, attempt, attempts, status, error)
    if run.status in ("failed", "timeout"):
        try:
            platform.events.emit(module, "job.failed", f"{module}/{job} {run.status}: {run.error}", "error")
        except OperationalError as exc:
            log.error("could not record the failure of %s/%s: %s", module, job, exc.orig)
    return run


def abandon_stale_executions(platform: Platform, module: str, job: str, timeout_s: float) -> int:
    """Mark as abandoned the runs still 'running' long past their timeout: their collector died (SIGKILL)."""
    cutoff = platform.clock() - timedelta(seconds=timeout_s + TIMEOUT_GRACE_S + STALE_MARGIN_S)
    with platform.engine.begin() as conn:
        result = conn.execute(
            update(executions)
            .where(executions.c.module == module, executions.c.job == job, executions.c.status == "running",
                   executions.c.started_at < cutoff)
            .values(status="abandoned", finished_at=platform.clock(),
                    error="the collector running it stopped without finishing it (killed or crashed)")
        )
    return int(result.rowcount or 0)
