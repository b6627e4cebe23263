"""The collector's exit status: what cron is told about a ``--once`` run, one code per kind of trouble.

Meters that fail to answer are a normal part of a run (each failure is a reading and an event):
they never change the status. When several kinds of trouble meet in one run, the most urgent
code wins, in the order 4, 3, 1, 2: readings that could not be kept anywhere, then readings kept
only in the spool, then a job that did not complete, then configuration that was left out.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from dataclasses import dataclass

DAEMON_TICK_S = 15
"""Seconds between a daemon's checks for due jobs and changed configuration (``--tick``)."""

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_DISK = 4

EXIT_CODES_HELP = """\
exit status (collector.py --once):
  0  the run completed: every due job ran (some meters may have failed to answer; each is a reading and an event)
  1  a job failed or timed out (its execution, the log and a job.failed event say why)
  2  configuration refused: nxforge.yaml is invalid (nothing ran), or an endpoint or file was left out
     (every valid endpoint was still read; the problems are in the log, the execution summary and an event)
  3  the database could not be reached: jobs that can work offline spooled their readings (flushed by
     the next run that reaches it), the others did not run
  4  disk full or spool unwritable: readings could not be kept anywhere (one error line names the folder)
when several apply, the most urgent is returned, in the order 4, 3, 1, 2.
"""

# Errors that mean "this folder cannot take a file", not a bug: the disk or quota is full, the
# file system is read-only, the folder's permissions refuse us, or RLIMIT_FSIZE was reached.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})


def is_disk_error(exc: BaseException) -> bool:
    """True for an OSError that says the disk (or the folder) cannot take what we write."""
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


@dataclass
class RunOutcome:
    """What one ``--once`` run met, gathered by the collector as it goes."""

    jobs_failed: bool = False
    config_refused: bool = False
    database_down: bool = False
    disk_full: bool = False

    def exit_status(self) -> int:
        """The most urgent code for what was met."""
        for met, code in ((self.disk_full, EXIT_DISK), (self.database_down, EXIT_DATABASE),
                          (self.jobs_failed, EXIT_JOB_FAILED), (self.config_refused, EXIT_CONFIG)):
            if met:
                return code
        return EXIT_OK


def outcome_of(statuses: Iterable[tuple[str, bool, bool]], *, database_down: bool, config_refused: bool) -> RunOutcome:
    """A RunOutcome from ``(status, disk_full, config_problems)`` per job run and what the collector saw itself."""
    outcome = RunOutcome(database_down=database_down, config_refused=config_refused)
    for status, disk_full, problems in statuses:
        outcome.disk_full |= disk_full
        outcome.config_refused |= problems
        outcome.jobs_failed |= status in ("failed", "timeout") and not disk_full
    return outcome
