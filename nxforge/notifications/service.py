"""Wiring: the event bus in, alerts and deliveries out. Modules never import this; they emit events.

Event conventions (the whole API a module needs, through ``ctx.emit``):

* ``alert.raised``   severity warning|error|critical, data ``{"key": cause, "kind": "temperature.high", ...}``
* ``alert.resolved`` data ``{"key": cause}``; message is the "recovered" text
* ``alert.notice``   a one-off (a meter reset): data ``{"key": ..., "kind": ...}``, sent once per interval
* any other kind (``job.failed`` ...) is a notice of that kind when a rule routes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from nxforge.db.types import utcnow
from nxforge.events import Event, EventBus
from nxforge.notifications.alerts import AlertManager
from nxforge.notifications.channels import Channel, build_channel
from nxforge.notifications.config import NotificationsConfig, notifications_config
from nxforge.notifications.notifier import Notifier
from nxforge.notifications.outbox import Delivery
from nxforge.secrets import SecretStore

log = logging.getLogger(__name__)

ALERT_RAISED = "alert.raised"
ALERT_RESOLVED = "alert.resolved"
ALERT_NOTICE = "alert.notice"
NOTIFICATION_FAILED = "notification.failed"


class NotificationService:
    """One per process: listens to every event and turns alert events into notifications.

    Its tables come from ``nxforge/notifications/migrations/``, applied by the platform before it
    builds the service (``nxforge.platform.ensure_schema``).
    """

    def __init__(
        self,
        engine: Engine,
        config: NotificationsConfig | dict[str, Any] | None,
        secrets: SecretStore,
        *,
        site_name: str = "NxForge",
        clock: Callable[[], datetime] = utcnow,
        poll_s: float = 30.0,
    ) -> None:
        self.config = notifications_config(config)
        self._engine = engine
        self._bus: EventBus | None = None
        channels: dict[str, Channel] = {
            name: build_channel(name, channel, secrets) for name, channel in self.config.channels.items()
        }
        self.notifier = Notifier(
            engine, channels, self.config.retry, max_pending=self.config.max_pending, poll_s=poll_s,
            on_idle=self._remind, on_gave_up=self._gave_up,
        )
        self.alerts = AlertManager(engine, self.config, self.notifier, clock=clock, site_name=site_name)

    def attach(self, bus: EventBus) -> None:
        """Subscribe to every event on ``bus`` and start delivering (when any channel is configured)."""
        self._bus = bus
        bus.subscribe("*", self.on_event)
        if self.config.enabled and self.notifier.channels:
            self.notifier.start()

    def on_event(self, event: Event) -> None:
        """Route one event: alert events change alert state, others may be notices."""
        if event.kind.startswith("notification."):
            return  # never notify about notifying: a dead channel would feed itself
        data = dict(event.data)
        if event.kind == ALERT_RAISED:
            key = str(data.get("key") or data.get("kind") or "alert")
            self.alerts.raise_alert(event.module, key, event.severity, event.message, data)
        elif event.kind == ALERT_RESOLVED:
            key = str(data.get("key") or data.get("kind") or "alert")
            self.alerts.resolve(event.module, key, event.message, data)
        elif event.kind == ALERT_NOTICE:
            kind = str(data.get("kind") or "notice")
            self.alerts.notice(event.module, kind, event.severity, event.message, data, data.get("key"))
        else:
            self.alerts.notice(event.module, event.kind, event.severity, event.message, data, data.get("key"))

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait for queued deliveries (tests, and the end of a ``--once`` run)."""
        return self.notifier.flush(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what can be sent in ``timeout_s``, then stop the worker."""
        self.notifier.close(timeout_s)

    def _remind(self) -> None:
        self.alerts.send_reminders()

    def _gave_up(self, delivery: Delivery, error: str) -> None:
        if self._bus is None:
            return
        self._bus.emit(
            "core", NOTIFICATION_FAILED,
            f"could not send {delivery.notification.title} to {delivery.channel}: {error}", "error",
            {"channel": delivery.channel, "delivery_id": delivery.id, "attempts": delivery.attempt,
             "module": delivery.notification.module, "key": delivery.notification.key},
        )


class ModuleAlerts:
    """What ``ctx.alerts`` can be: alert calls bound to one module, carried as events on the bus.

    Going through the bus keeps one path (persisted event, then notification) whichever way a
    module raises an alert, and lets other modules subscribe to alerts too.
    """

    def __init__(self, events: EventBus, module: str) -> None:
        self._events = events
        self._module = module

    def raise_alert(self, key: str, severity: str, message: str, data: dict[str, Any] | None = None,
                    kind: str = "alert") -> None:
        """Cause ``key`` is wrong; repeating this is cheap and sends nothing new."""
        self._events.emit(self._module, ALERT_RAISED, message, severity,  # type: ignore[arg-type]
                          {"kind": kind, **(data or {}), "key": key})

    def resolve(self, key: str, message: str, data: dict[str, Any] | None = None) -> None:
        """Cause ``key`` is fine again; sends "recovered" if an alert was open."""
        self._events.emit(self._module, ALERT_RESOLVED, message, "info", {**(data or {}), "key": key})

    def notice(self, key: str, severity: str, message: str, data: dict[str, Any] | None = None,
               kind: str = "notice") -> None:
        """A one-off worth telling (a counter reset), sent at most once per reminder interval per key."""
        self._events.emit(self._module, ALERT_NOTICE, message, severity,  # type: ignore[arg-type]
                          {"kind": kind, **(data or {}), "key": key})
