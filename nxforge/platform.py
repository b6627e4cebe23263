"""The running platform: environment, configuration, database, discovered modules, shared services.

One ``Platform`` per process (collector, app, CLI). It is the composition root: it puts the kernel
and the engines together (the core tables, the notification tables from their own migrations,
the ``notifications:`` section validated by that package) and builds each module's context, so
the services a module sees are created in exactly one place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from nxforge.config.models import CoreConfig
from nxforge.db.engine import create_db_engine
from nxforge.db.types import utcnow
from nxforge.environment import Environment
from nxforge.errors import NxForgeError
from nxforge.events import EventBus
from nxforge.metrics import ModuleMetrics
from nxforge.migrations.runner import MigrationError, ensure_core_schema, migrate_module
from nxforge.module_system.contract import JobContext, ModuleContext
from nxforge.module_system.discovery import ModuleInfo, discover_modules
from nxforge.notifications import MIGRATIONS_DIR, MIGRATIONS_NAME, NotificationsConfig, NotificationService
from nxforge.notifications.config import load_notifications_config

if TYPE_CHECKING:
    from nxforge.scraping.scraper import Scraper

log = logging.getLogger(__name__)


class UnknownModuleError(NxForgeError, LookupError):
    """No module of that name is installed (a LookupError too, as callers catch)."""


def ensure_schema(engine: Engine) -> None:
    """The core tables, then the notification tables from their migrations (idempotent)."""
    ensure_core_schema(engine)
    try:
        migrate_module(engine, MIGRATIONS_NAME, MIGRATIONS_DIR)
    except (MigrationError, IntegrityError, ProgrammingError):
        # Another process starting on the same fresh database may have applied it first: check once more.
        migrate_module(engine, MIGRATIONS_NAME, MIGRATIONS_DIR)


class Platform:
    """Holds what every part of NxForge shares in one process."""

    def __init__(
        self,
        env: Environment | None = None,
        *,
        engine: Engine | None = None,
        clock: Callable[[], datetime] = utcnow,
        scraping_processes: int = 0,
    ) -> None:
        """``scraping_processes``: read meters in that many child processes (the collector, see
        ``nxforge.scraping.engine_process`` and ``engine_pool``); 0, the app and the CLI: in this process."""
        self.env = env or Environment.from_environ()
        self.core: CoreConfig = self.env.load_core_config()
        self.notifications_config: NotificationsConfig = load_notifications_config(self.env.core_config_path)
        self.engine = engine or create_db_engine(self.env.database_url(self.core))
        self.clock = clock
        self._scraping: Scraper | None = None
        self._scraping_processes = scraping_processes
        self._scraping_lock = threading.Lock()
        self.database_ready = True
        self.migration_errors: dict[str, str] = {}
        """Enabled modules whose pending migrations failed (their jobs and pages do not run), with why."""
        self._signature = self.config_signature()
        try:
            ensure_schema(self.engine)
        except OperationalError as exc:
            # Offline jobs can still scrape and spool; everything else reports the outage when it needs the database.
            self.database_ready = False
            log.error("database unreachable (%s): only offline jobs can run", exc.orig)

    @cached_property
    def notifications(self) -> NotificationService:
        """Alerts and deliveries of this process; its worker starts only when channels exist."""
        return NotificationService(
            self.engine, self.notifications_config, self.env.secrets, site_name=self.core.site_name, clock=self.clock
        )

    @cached_property
    def events(self) -> EventBus:
        """The process's event bus; alert events on it become notifications."""
        bus = EventBus(self.engine)
        try:
            self.notifications.attach(bus)
        except OperationalError as exc:
            log.error("notifications are off for this run: database unreachable (%s)", exc.orig)
        return bus

    @property
    def timezone(self) -> ZoneInfo:
        """The site's time zone from nxforge.yaml."""
        return ZoneInfo(self.core.timezone)

    def reload(self) -> None:
        """Re-read nxforge.yaml and the modules folder (after enable, disable, install)."""
        signature = self.config_signature()
        self.core = self.env.load_core_config()
        self.notifications_config = load_notifications_config(self.env.core_config_path)
        self.__dict__.pop("modules", None)
        self._signature = signature

    def config_signature(self) -> tuple[object, ...]:
        """What must change on disk for the enabled set, a setting or the module list to change."""
        parts: list[object] = []
        for path in (self.env.core_config_path, self.env.modules_dir):
            try:
                status = path.stat()
            except OSError:
                parts.append(None)
            else:
                parts.append((status.st_mtime_ns, status.st_size, status.st_ino))
        if self.env.modules_dir.is_dir():
            for manifest in sorted(self.env.modules_dir.glob("*/manifest.yaml")):
                try:
                    parts.append((manifest.parent.name, manifest.stat().st_mtime_ns))
                except OSError:
                    parts.append((manifest.parent.name, None))
        return tuple(parts)

    def reload_if_changed(self) -> bool:
        """Re-read the configuration when it changed on disk (a daemon calls this every tick); True when it did.

        An invalid nxforge.yaml raises ConfigError and the configuration in use stays as it was.
        """
        if self.config_signature() == self._signature:
            return False
        self.reload()
        return True

    def migrate_enabled(self) -> dict[str, list[str]]:
        """Apply the pending migrations of every enabled module (a fresh database); return what was applied.

        The collector and the app call this before they use the database. A module whose migration
        fails is left in ``migration_errors`` (its jobs do not run); the others carry on. Raises
        OperationalError when the database cannot be reached.
        """
        applied: dict[str, list[str]] = {}
        for info in self.enabled_modules():
            try:
                try:
                    names = migrate_module(self.engine, info.name, info.migrations_dir)
                except (IntegrityError, ProgrammingError):
                    # Another process migrating the same fresh database got there first: look again.
                    names = migrate_module(self.engine, info.name, info.migrations_dir)
            except (MigrationError, IntegrityError, ProgrammingError) as exc:
                if self.migration_errors.get(info.name) != str(exc):
                    log.error("module %s is not used: its migrations cannot be applied: %s", info.name, exc)
                self.migration_errors[info.name] = str(exc)
                continue
            self.migration_errors.pop(info.name, None)
            if names:
                log.info("database migrated before use: %s: %d migration(s) applied (%s)",
                         info.name, len(names), ", ".join(names))
                applied[info.name] = names
        return applied

    @cached_property
    def modules(self) -> list[ModuleInfo]:
        """Every module on disk, broken ones included."""
        return discover_modules(self.env.modules_dir)

    def module(self, name: str) -> ModuleInfo:
        """The module called ``name``."""
        for info in self.modules:
            if info.name == name:
                return info
        raise UnknownModuleError(
            f"no module named {name!r} in {self.env.modules_dir}", hint="`nxforge modules list` names those installed"
        )

    @property
    def enabled_names(self) -> list[str]:
        """Names enabled in nxforge.yaml, in file order."""
        return list(self.core.modules.enabled)

    def enabled_modules(self) -> list[ModuleInfo]:
        """Enabled modules whose manifest is valid; others are logged and skipped."""
        result = []
        for name in self.enabled_names:
            try:
                info = self.module(name)
            except UnknownModuleError as exc:
                log.error("%s (listed as enabled in %s)", exc, self.env.core_config_path)
                continue
            if info.ok:
                result.append(info)
        return result

    def settings_for(self, info: ModuleInfo) -> dict[str, Any]:
        """Manifest defaults overlaid with the values in nxforge.yaml."""
        assert info.manifest is not None
        return info.manifest.settings_with(self.core.modules.settings.get(info.name))

    def scraping(self) -> Scraper:
        """The one scraping engine of this process (or of its scraping processes), created on first use."""
        with self._scraping_lock:
            if self._scraping is None:
                # Each branch imports only the engine it makes: the collector's own process never imports
                # the engines' modules (its scraping processes do).
                make: Callable[..., Scraper]
                if self._scraping_processes > 1:
                    from nxforge.scraping.engine_pool import EnginePool

                    make = partial(EnginePool, self._scraping_processes)
                elif self._scraping_processes == 1:
                    from nxforge.scraping.engine_process import EngineProcess as make
                else:
                    from nxforge.scraping.engine import ScrapingEngine as make
                self._scraping = make(secrets=self.env.secrets, evidence_dir=self.env.data_dir / "evidence",
                                      state_dir=self.env.data_dir / "sessions")
            return self._scraping

    def context(self, name: str) -> ModuleContext:
        """The context handed to ``name``'s pages and helpers."""
        return ModuleContext(**self._context_fields(self.module(name)))

    def job_context(self, name: str, job: str, **extra: Any) -> JobContext:
        """The context handed to one run of one job."""
        info = self.module(name)
        assert info.manifest is not None
        spec = info.manifest.jobs[job]
        job_config = {key: setting.default for key, setting in spec.config.items()}
        return JobContext(**self._context_fields(info), job=job, job_config=job_config, **extra)

    def _context_fields(self, info: ModuleInfo) -> dict[str, Any]:
        if info.manifest is None:
            raise UnknownModuleError(
                f"module {info.name!r} cannot be used: {info.error}", hint="fix its manifest; `nxforge config check`"
            )
        return {
            "name": info.name,
            "manifest": info.manifest,
            "settings": self.settings_for(info),
            "db": self.engine,
            "log": logging.getLogger(f"nxforge.module.{info.name}"),
            "storage": self.env.module_data_dir(info.name),
            "config_dir": self.env.config_dir / (info.manifest.config.folder if info.manifest.config else info.name),
            "events": self.events,
            "secrets": self.env.secrets,
            "timezone": self.timezone,
            "scraping": self.scraping,
            "clock": self.clock,
            "metrics": ModuleMetrics(info.name),
        }

    def close(self) -> None:
        """Send pending notifications, release the browser and the database pool."""
        if "notifications" in self.__dict__:
            self.notifications.close(timeout_s=10)
        if self._scraping is not None:
            self._scraping.close()
            self._scraping = None
        self.engine.dispose()
