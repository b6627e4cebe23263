"""Run due jobs once (cron) or forever (daemon, ticked by the ``schedule`` package).

Every run (each daemon tick) first picks up configuration changes (a module enabled or disabled
in the app or with ``nxforge modules``, a setting changed) and applies the pending migrations of
enabled modules, so a fresh database is migrated before a job uses it. A job whose module is
disabled while it runs is asked to stop within a tick, as SIGTERM would.
"""

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
from nxforge.collector.exit_status import DAEMON_TICK_S, RunOutcome, outcome_of
from nxforge.collector.jobs import JobRun, abandon_stale_executions, run_job
from nxforge.collector.locks import job_lock
from nxforge.collector.memory import start_up_done
from nxforge.collector.progress import Progress
from nxforge.collector.unrecorded import record_unrecorded
from nxforge.config.errors import ConfigError
from nxforge.module_system.manifest import JobSpec
from nxforge.platform import Platform, ensure_schema

log = logging.getLogger(__name__)

__all__ = ["DAEMON_TICK_S", "Collector", "PlannedJob"]


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
        self.config_error: str | None = None
        """Why the last re-read of nxforge.yaml failed (the configuration before it stays in use)."""
        self.tick_s: int = DAEMON_TICK_S
        self._local_starts: dict[tuple[str, str], datetime] = {}

    def refresh(self) -> None:
        """Pick up configuration changes, then make the database ready (core tables, enabled modules' migrations)."""
        platform = self.platform
        try:
            if platform.reload_if_changed():
                log.info("configuration re-read: enabled modules %s", ", ".join(platform.enabled_names) or "none")
            self.config_error = None
        except ConfigError as exc:
            if str(exc) != self.config_error:
                log.error("nxforge.yaml not re-read, the configuration before it stays in use:\n%s", exc)
            self.config_error = str(exc)
        try:
            if not platform.database_ready:
                ensure_schema(platform.engine)
                platform.database_ready = True
                log.info("database reachable again")
            platform.migrate_enabled()
            record_unrecorded(platform)
        except OperationalError as exc:
            self.database_down = True
            log.error("database unreachable (%s): only offline jobs can run", exc.orig)

    def outcome(self, runs: list[JobRun]) -> RunOutcome:
        """What this run met, for the exit status."""
        outcome = outcome_of(((run.status, run.disk_full, bool(run.config_problems)) for run in runs),
                             database_down=self.database_down or not self.platform.database_ready,
                             config_refused=self.config_error is not None)
        platform = self.platform
        outcome.jobs_failed |= any(name in platform.migration_errors for name in platform.enabled_names)
        usable = {info.name for info in platform.enabled_modules()}
        outcome.config_refused |= any(name not in usable for name in platform.enabled_names)  # missing or broken
        return outcome

    def planned_jobs(self) -> list[PlannedJob]:
        """Jobs of enabled modules, narrowed by ``--module`` and ``--job``."""
        planned = []
        for info in self.platform.enabled_modules():
            assert info.manifest is not None
            if self.only_module and info.name != self.only_module:
                continue
            if info.name in self.platform.migration_errors:
                continue  # its tables are not what its code expects; the error is logged and counted
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
        try:
            return self._run_due(trigger)
        finally:
            start_up_done()  # nothing was due (else the first job's start ended start-up)

    def _run_due(self, trigger: str) -> list[JobRun]:
        self.refresh()
        runs = []
        for planned in self.due_jobs():
            if self.stop_event.is_set():
                break
            if self._now_disabled(planned.module):
                log.info("%s/%s not run: its module was disabled during this run", planned.module, planned.job)
                continue
            try:
                run = self._run_locked(planned, trigger)
            except OperationalError as exc:
                self.database_down = True
                log.error("%s/%s not run: database unreachable (%s)", planned.module, planned.job, exc.orig)
                continue
            if run is not None:
                runs.append(run)
        return runs

    def _run_locked(self, planned: PlannedJob, trigger: str) -> JobRun | None:
        lock_name = f"{planned.module}/{planned.job}"
        with job_lock(
            self.platform.engine, self.platform.env.data_dir / "locks", lock_name, planned.spec.concurrent
        ) as held:
            if not held:
                log.info("%s is already running in another collector; skipped", lock_name)
                return None
            log.info("running %s", lock_name)
            self._local_starts[(planned.module, planned.job)] = self.platform.clock()
            self._abandon_stale(planned)
            job_stop = threading.Event()
            watcher = threading.Thread(target=self._watch, args=(planned.module, job_stop), daemon=True,
                                       name=f"watch-{lock_name}")
            watcher.start()
            try:
                run = run_job(
                    self.platform,
                    planned.module,
                    planned.job,
                    trigger=trigger,
                    filters=self.filters,
                    stop_event=job_stop,
                    progress=Progress(lock_name),
                )
            finally:
                job_stop.set()  # also ends the watcher
                watcher.join()
            log.info("%s %s: %s", lock_name, run.status, run.summary or run.error)
            if run.execution_id is None:
                self.database_down = True  # the job ran offline
            return run

    def _now_disabled(self, module: str) -> bool:
        """Whether nxforge.yaml, as it is on disk now, no longer enables ``module``.

        A run's due jobs are chosen at its start, and a job's watcher asks while it runs: a job may
        run for minutes, long enough for the module to be disabled. Read from the file (the watcher
        runs in its own thread: the platform is re-read by ``refresh`` only); a file being written
        or invalid counts as no change (the configuration in use stays; ``refresh`` reports it).
        """
        try:
            return module not in self.platform.env.load_core_config().modules.enabled
        except (OSError, ConfigError):
            return False

    def _watch(self, module: str, job_stop: threading.Event) -> None:
        """While a job runs: pass on the collector's stop, and stop the job once its module is disabled."""
        env = self.platform.env
        last_seen: object = None
        while not job_stop.wait(min(1.0, self.tick_s)):
            if self.stop_event.is_set():
                job_stop.set()
                return
            try:
                seen = env.core_config_path.stat().st_mtime_ns
            except OSError:
                continue
            if seen == last_seen:
                continue
            last_seen = seen
            if self._now_disabled(module):
                log.warning("module %s was disabled: asking its running job to stop", module)
                job_stop.set()
                return

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

    def _tick(self) -> None:
        """One daemon tick; nothing a tick meets stops the daemon (it is logged, the next tick tries again)."""
        try:
            self.run_due(trigger="schedule")
        except Exception:
            log.exception("collector tick failed; trying again at the next tick")

    def run_forever(self, tick_s: int = DAEMON_TICK_S) -> None:
        """Daemon mode: check what is due every ``tick_s`` seconds until stopped."""
        self.tick_s = tick_s
        scheduler = schedule.Scheduler()
        scheduler.every(tick_s).seconds.do(self._tick)
        self._tick()
        while not self.stop_event.is_set():
            scheduler.run_pending()
            self.stop_event.wait(min(1.0, tick_s))
        log.info("collector stopped")


