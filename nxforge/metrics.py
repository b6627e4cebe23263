"""Prometheus metrics: what ops already graph in Grafana.

The daemon serves them on a port; ``--once`` (cron) writes a textfile for node_exporter's
textfile collector. Modules record through ``ctx.metrics``, bound to their name, so they never
touch prometheus_client directly.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server, write_to_textfile

REGISTRY = CollectorRegistry()

JOB_RUNS = Counter(
    "nxforge_job_runs", "Job runs by outcome", ["module", "job", "status"], registry=REGISTRY
)
JOB_DURATION = Histogram(
    "nxforge_job_duration_seconds", "Wall time of one job run", ["module", "job"], registry=REGISTRY,
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
RUN_TIMESTAMP = Gauge(
    "nxforge_collector_last_run_timestamp_seconds", "End of the last collector run", registry=REGISTRY
)
SCRAPES = Counter(
    "nxforge_scrapes", "Scrape attempts by result class (ok or an error class)", ["module", "endpoint", "result"],
    registry=REGISTRY,
)
SCRAPE_DURATION = Histogram(
    "nxforge_scrape_duration_seconds", "Time to read one endpoint", ["module", "engine"], registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
LAST_SUCCESS = Gauge(
    "nxforge_last_success_timestamp_seconds", "Last successful read of an endpoint", ["module", "endpoint"],
    registry=REGISTRY,
)
SPOOL_SIZE = Gauge("nxforge_spool_items", "Readings waiting in the local spool", ["module"], registry=REGISTRY)
NOTIFICATION_FAILURES = Counter(
    "nxforge_notification_failures", "Notifications a channel failed to deliver", ["channel"], registry=REGISTRY
)


@dataclass(frozen=True)
class ModuleMetrics:
    """The metrics a module records, labelled with its name."""

    module: str

    def scrape(self, endpoint: str, result: str, duration_s: float, engine: str, success_at: float | None) -> None:
        """One scrape attempt: ``result`` is ``ok`` or the error class."""
        SCRAPES.labels(self.module, endpoint, result).inc()
        SCRAPE_DURATION.labels(self.module, engine).observe(duration_s)
        if success_at is not None:
            LAST_SUCCESS.labels(self.module, endpoint).set(success_at)

    def spool_size(self, items: int) -> None:
        """How many readings wait in the spool."""
        SPOOL_SIZE.labels(self.module).set(items)


def record_job(module: str, job: str, status: str, duration_s: float, finished_at: float) -> None:
    """One job run, recorded by the collector."""
    JOB_RUNS.labels(module, job, status).inc()
    JOB_DURATION.labels(module, job).observe(duration_s)
    RUN_TIMESTAMP.set(finished_at)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Expose ``/metrics`` on ``host:port`` from a background thread (daemon mode)."""
    start_http_server(port, addr=host, registry=REGISTRY)


def write_textfile(path: Path) -> None:
    """Write the metrics atomically for node_exporter's textfile collector (``--once`` mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".prom.tmp")
    os.close(handle)
    write_to_textfile(temporary, REGISTRY)
    os.replace(temporary, path)
