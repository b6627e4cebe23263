"""Run due jobs once (cron) or forever (daemon, ticked by the ``schedule`` package)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

import schedule
from sqlalchemy.exc import OperationalError

from nxforge.collector.due import is_due, last_start
from nxforge.collector.jobs import JobRun, abandon_stale_executions, run_job
from nxforge.collector.locks import job_lock
from nxforge.collector.progress import Progress
from nxforge.module_system.manifest import JobSpec
from nxforge.platform import Platform

log = logging.getLogger(__name__)

DAEMON_TICK_S = 15


@dataclass(frozen=True)
class PlannedJob:
    """A job the collector may run now."""

    module: str
    job: str
    spec: JobSpec


class Collector:
    """Chooses the jobs of enabled modules that are due and runs them one after another."""

    def __init__(
        self,
        platform: Platform,
        *,
        module: str | None = None,
        job: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> None:
        self.platform = platform
        self.only_module = module
        self.only_job = job
        self.filters = filters or {}
        self.stop_event = threading.Event()
        self.database_down = False
        self._local_starts: dict[tuple[str, str], datetime] = {}

    def planned_jobs(self) -> list[PlannedJob]:
        """Jobs of enabled modules, narrowed by ``--module`` and ``--job``."""
        planned = []
        for info in self.platform.enabled_modules():
            assert info.manifest is not None
            if self.only_module and info.name != self.only_module:
                continue
            for name, spec in info.manifest.jobs.items():
                if self.only_job and name != self.only_job:
                    continue
                planned.append(PlannedJob(info.name, name, spec))
        return planned

    def _last_start(self, planned: PlannedJob) -> datetime | None:
        """When the job last started: here, for a concurrent job (each collector runs it and the job
        shares the work out itself); anywhere, from the database, for the others."""
        if planned.spec.concurrent:
            return self._local_starts.get((planned.module, planned.job))
        return last_start(self.platform.engine, planned.module, planned.job)

    def due_jobs(self) -> list[PlannedJob]:
        """Planned jobs whose schedule says run now; a job named with ``--job`` always runs.

        With the database down, only jobs declared ``offline`` run (they spool their work);
        ``database_down`` then tells the caller the others could not.
        """
        now = self.platform.clock()
        due = []
        for planned in self.planned_jobs():
            try:
                last = None if self.only_job else self._last_start(planned)
            except OperationalError as exc:
                self.database_down = True
                if not planned.spec.offline:
                    log.error("%s/%s skipped: database unreachable (%s)", planned.module, planned.job, exc.orig)
                    continue
                last = None
            if self.only_job or is_due(planned.spec.parsed_schedule, last, now, self.platform.timezone):
                due.append(planned)
        return due

    def run_due(self, trigger: str = "once") -> list[JobRun]:
        """Run every due job once, skipping those another collector is running."""
        runs = []
        for planned in self.due_jobs():
            if self.stop_event.is_set():
                break
            lock_name = f"{planned.module}/{planned.job}"
            with job_lock(
                self.platform.engine, self.platform.env.data_dir / "locks", lock_name, planned.spec.concurrent
            ) as held:
                if not held:
                    log.info("%s is already running in another collector; skipped", lock_name)
                    continue
                log.info("running %s", lock_name)
                self._local_starts[(planned.module, planned.job)] = self.platform.clock()
                self._abandon_stale(planned)
                run = run_job(
                    self.platform,
                    planned.module,
                    planned.job,
                    trigger=trigger,
                    filters=self.filters,
                    stop_event=self.stop_event,
                    progress=Progress(lock_name),
                )
                log.info("%s %s: %s", lock_name, run.status, run.summary or run.error)
                if run.execution_id is None:
                    self.database_down = True  # the job ran offline
                runs.append(run)
        return runs

    def _abandon_stale(self, planned: PlannedJob) -> None:
        try:
            abandoned = abandon_stale_executions(
                self.platform, planned.module, planned.job, planned.spec.timeout_s
            )
        except OperationalError:
            return
        if abandoned:
            log.warning("%s/%s: %d run(s) left 'running' by a dead collector marked abandoned",
                        planned.module, planned.job, abandoned)

    @contextmanager
    def signals_stop_jobs(self) -> Iterator[None]:
        """While in the block, SIGTERM and SIGINT ask running jobs to finish their current item and stop."""

        def stop(signum: int, _frame: FrameType | None) -> None:
            log.warning("received %s: finishing in-flight work, then stopping", signal.Signals(signum).name)
            self.stop_event.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run_forever(self, tick_s: int = DAEMON_TICK_S) -> None:
        """Daemon mode: check what is due every ``tick_s`` seconds until stopped."""
        scheduler = schedule.Scheduler()
        scheduler.every(tick_s).seconds.do(self.run_due, trigger="schedule")
        self.run_due(trigger="schedule")
        while not self.stop_event.is_set():
            scheduler.run_pending()
            self.stop_event.wait(min(1.0, tick_s))
        log.info("collector stopped")


