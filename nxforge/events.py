"""Events: persisted facts (job failed, module enabled, meter reset ...) that modules can subscribe to."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, insert

from nxforge.db.schema import events as events_table
from nxforge.db.types import utcnow

log = logging.getLogger(__name__)

Severity = Literal["info", "warning", "error", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error", "critical")


@dataclass(frozen=True)
class Event:
    """One thing that happened, as stored."""

    at: datetime
    module: str
    kind: str
    severity: Severity
    message: str
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    """Stores every event and hands it to in-process subscribers; a failing subscriber is logged, not raised."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._subscribers: dict[str, list[Subscriber]] = defaultdict(list)

    def subscribe(self, kind: str, subscriber: Subscriber) -> None:
        """Call ``subscriber`` for each event of ``kind`` (``*`` for all)."""
        self._subscribers[kind].append(subscriber)

    def emit(
        self, module: str, kind: str, message: str, severity: Severity = "info", data: dict[str, Any] | None = None
    ) -> Event:
        """Persist the event, then notify subscribers."""
        event = Event(utcnow(), module, kind, severity, message, data or {})
        with self._engine.begin() as conn:
            conn.execute(
                insert(events_table).values(
                    at=event.at, module=module, kind=kind, severity=severity, message=message, data=event.data
                )
            )
        for subscriber in [*self._subscribers.get(kind, []), *self._subscribers.get("*", [])]:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed on %s/%s", subscriber, module, kind)
        return event
