"""The contract between the core and a module: what module code receives, and what it returns.

Modules see these types through ``nxforge.sdk``, the one core surface they import. A job handler
is ``def run(ctx: JobContext) -> dict`` (a small JSON-able summary); a page is
``def render(ctx: ModuleContext, role: str) -> None``; a command is
``def command(ctx: ModuleContext, argv: list[str]) -> int`` (the exit status).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from nxforge.audit import record_audit
from nxforge.events import EventBus
from nxforge.metrics import ModuleMetrics
from nxforge.module_system.manifest import Manifest
from nxforge.secrets import SecretStore

if TYPE_CHECKING:
    from nxforge.scraping.scraper import Scraper


NoticeKind = Literal["success", "info", "warning", "error"]
"""How a page notice is shown."""

HOOKS: dict[str, str] = {
    "demo": "fn(ctx: ModuleContext, simulator: nxforge.simulator.Simulator) -> None: called by `nxforge demo` "
    "after the simulator starts; writes the module's demo configuration (unless it exists) pointing at it.",
    "config-rules": "fn(*, config_dir: Path, settings: dict[str, Any]) -> list[ConfigProblem]: called by "
    "`nxforge config check` for an enabled module, with no database; returns what the module's jobs would "
    "refuse across its whole YAML folder (duplicate ids across files, names referenced but not declared), "
    "each problem with file:line.",
    "scrape-config": "fn(ctx: ModuleContext, endpoint: str) -> ScrapeRequest | None: called by `nxforge scrape "
    "test ENDPOINT`; returns the request the module's jobs would send for that endpoint or sensor device "
    "(its scrape config), or None when the module has no such endpoint.",
    "clients": "fn(*, config_dir: Path, settings: dict[str, Any]) -> list[str]: called by `nxforge config check` "
    "and `nxforge users add|role --client` for an enabled module, with no database; returns the clients its YAML "
    "declares, one of which a client user's `client:` in users.yaml must name.",
}
"""Hooks a manifest may name under ``hooks:``; the core calls them by name with these arguments.

``Manifest.hooks`` accepts exactly these names (a test keeps the two lists equal).
"""


class ScrapingProvider(Protocol):
    """Hands out the process's one scraping engine, created on first use."""

    def __call__(self) -> Scraper: ...


@dataclass
class ModuleContext:
    """Everything a module may use from the core."""

    name: str
    """The module's manifest name (kebab-case)."""
    manifest: Manifest
    """The module's validated manifest."""
    settings: dict[str, Any]
    """Manifest defaults overlaid with ``modules.settings.<name>`` from nxforge.yaml."""
    db: Engine
    """The shared SQLAlchemy engine; the module's tables carry its prefix."""
    log: logging.Logger
    """The module's logger; lines logged while a job runs are kept with its execution."""
    storage: Path
    """A folder the module owns under the data folder (evidence, spool, state)."""
    config_dir: Path
    """The module's YAML folder, ``config/<name>/``."""
    events: EventBus
    """Emit and subscribe to events."""
    secrets: SecretStore
    """Resolves ``${NAME}`` references at the moment of use."""
    timezone: ZoneInfo
    """The site's time zone: billing months are calendar months here."""
    scraping: ScrapingProvider
    """The scraping engine, launched lazily (a browser only when a browser scrape comes)."""
    clock: Callable[[], datetime]
    """The current UTC time; tests replace it to let a month pass."""
    metrics: ModuleMetrics
    """Prometheus metrics labelled with the module's name (scrapes, last success, spool size)."""
    user: str | None = None
    """The signed-in user's name on a page; None in jobs, commands and hooks."""
    client: str | None = None
    """On a page for a ``client`` user: the one client whose data it may show (pass it to every query
    function); None means every client (staff users, jobs, commands)."""
    notify_user: Callable[[NoticeKind, str], None] | None = None
    """Set by the app: shows a notice on the next run of the page (an action reruns the app)."""

    @property
    def actor(self) -> str:
        """The name audit rows carry: ``app:<user>`` on a page, ``module:<name>`` elsewhere."""
        return f"app:{self.user}" if self.user else f"module:{self.name}"

    def audit(self, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
        """Record who changed what (``endpoint.update``, ``ep-1``, the diff) in the audit trail."""
        record_audit(self.db, self.actor, action, target, detail)

    def notice(self, kind: NoticeKind, message: str) -> None:
        """Tell the person using the page what an action did; logged when no page is showing."""
        if self.notify_user is not None:
            self.notify_user(kind, message)
        else:
            self.log.info("%s: %s", kind, message)

    def emit(self, kind: str, message: str, severity: str = "info", data: dict[str, Any] | None = None) -> None:
        """Emit an event attributed to this module."""
        self.events.emit(self.name, kind, message, severity, data)  # type: ignore[arg-type]


@dataclass
class JobContext(ModuleContext):
    """A module context for one run of one job."""

    job: str = ""
    """The job's key in the manifest."""
    job_config: dict[str, Any] = field(default_factory=dict)
    """The job's config, defaults filled in."""
    execution_id: int | None = None
    """The executions row of this run."""
    filters: dict[str, Any] = field(default_factory=dict)
    """Narrowing asked for on the command line (e.g. ``endpoint``), and ``dry_run``."""
    stop_event: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[int, int], None] = field(default=lambda done, total: None)
    """Report ``done`` of ``total`` work items; a terminal shows a bar, cron gets log lines."""

    def should_stop(self) -> bool:
        """True once SIGTERM or the timeout asks the job to wind down; check it between work items."""
        return self.stop_event.is_set()
