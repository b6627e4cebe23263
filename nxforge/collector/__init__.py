"""The collector: runs the jobs enabled modules declare, on schedule or once for cron."""

from nxforge.collector.jobs import JobRun, run_job
from nxforge.collector.runner import Collector

__all__ = ["Collector", "JobRun", "run_job"]
