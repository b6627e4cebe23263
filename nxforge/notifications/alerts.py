"""The ``AlertManager``: one open alert per cause, reminders, escalation and the "recovered" message.

A module says "this is wrong" as often as it likes (each run, say); the manager turns that into
one notification when the alert opens, one when it escalates, one per reminder interval while
it stays open, and one "recovered" to the channels that heard about it. State lives in the
``alerts`` table, so cron runs of ``collector.py --once`` agree with each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from nxforge.db.types import utcnow
from nxforge.notifications.config import NotificationsConfig, severity_rank
from nxforge.notifications.message import Notification, Phase
from nxforge.notifications.notifier import Notifier
from nxforge.notifications.tables import alerts as alerts_table
from nxforge.notifications.tables import notification_attempts as attempts_table

log = logging.getLogger(__name__)

Outcome = Literal["opened", "escalated", "reminded", "unchanged"]


@dataclass(frozen=True)
class AlertRecord:
    """One row of ``alerts``."""

    id: int
    module: str
    key: str
    kind: str
    severity: str
    state: str
    opened_at: datetime
    last_sent_at: datetime | None
    closed_at: datetime | None
    reminders: int
    message: str
    closed_message: str | None
    data: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> AlertRecord:
        """Build from a selected ``alerts`` row."""
        return cls(**row._asdict())


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` that takes SQLite's write lock first.

    A SQLite transaction that reads and then writes cannot wait for the lock when another
    connection (the notifier thread) wrote in between: it fails at once with "database is
    locked". Writing first (a no-op UPDATE) makes it wait its turn under the busy timeout instead.
    """
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("UPDATE alerts SET id = id WHERE 1 = 0"))
        yield conn


class AlertManager:
    """Opens, reminds, escalates and closes alerts, and queues what each change should send."""

    def __init__(
        self,
        engine: Engine,
        config: NotificationsConfig,
        notifier: Notifier | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        site_name: str = "NxForge",
    ) -> None:
        self._engine = engine
        self._config = config
        self._notifier = notifier
        self._clock = clock
        self._site = site_name

    # -- the API modules reach through events -----------------------------------------------

    def raise_alert(
        self,
        module: str,
        key: str,
        severity: str,
        message: str,
        data: dict[str, Any] | None = None,
        kind: str | None = None,
    ) -> Outcome:
        """Say that cause ``key`` of ``module`` is wrong now; repeated calls do not repeat notifications."""
        data = dict(data or {})
        kind = kind or str(data.get("kind") or "alert")
        now = self._clock()
        queued = False
        with write_transaction(self._engine) as conn:
            current = self._open(conn, module, key)
            if current is None:
                try:
                    with conn.begin_nested():
                        alert_id = self._insert(conn, module, key, kind, severity, "open", now, message, data)
                except IntegrityError:
                    log.info("alert %s/%s was opened by another process at the same moment", module, key)
                    return "unchanged"
                queued = self._queue(conn, alert_id, "raised", module, kind, key, severity, message, now, now, data)
                outcome: Outcome = "opened"
            else:
                outcome, queued = self._update_open(conn, current, severity, message, data, now)
        if queued and self._notifier is not None:
            self._notifier.wake()
        log.info("alert %s/%s (%s, %s): %s", module, key, kind, severity, outcome)
        return outcome

    def resolve(self, module: str, key: str, message: str = "", data: dict[str, Any] | None = None) -> bool:
        """Close the open alert of ``key`` and tell the channels that heard of it; False when none was open."""
        now = self._clock()
        with write_transaction(self._engine) as conn:
            current = self._open(conn, module, key)
            if current is None:
                return False
            text = message or f"{current.kind} {key} recovered"
            conn.execute(
                update(alerts_table).where(alerts_table.c.id == current.id)
                .values(state="closed", closed_at=now, closed_message=text)
            )
            channels = self._channels_told(conn, current.id)
            merged = {**(current.data or {}), **(data or {})}
            notification = self._notification("recovered", current, text, now, merged)
            queued = bool(channels) and self._notifier is not None
            if queued:
                assert self._notifier is not None
                self._notifier.enqueue(conn, notification, channels)
        if queued and self._notifier is not None:
            self._notifier.wake()
        log.info("alert %s/%s recovered", module, key)
        return True

    def notice(
        self,
        module: str,
        kind: str,
        severity: str,
        message: str,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> bool:
        """Send a one-off notification (no recovery expected); the same key is sent once per reminder interval."""
        channels = self._config.route(module, kind, severity)
        if not channels:
            return False
        key = key or kind
        now = self._clock()
        window = timedelta(seconds=self._config.reminder_s or 0)
        with write_transaction(self._engine) as conn:
            recent = conn.execute(
                select(alerts_table.c.id).where(
                    alerts_table.c.module == module, alerts_table.c.key == key, alerts_table.c.state == "notice",
                    alerts_table.c.opened_at > now - window,
                ).limit(1)
            ).first()
            if recent is not None:
                log.info("notice %s/%s already sent within %s; not repeated", module, key, window)
                return False
            alert_id = self._insert(conn, module, key, kind, severity, "notice", now, message, dict(data or {}),
                                    closed_at=now)
            self._queue(conn, alert_id, "notice", module, kind, key, severity, message, now, now, dict(data or {}))
        if self._notifier is not None:
            self._notifier.wake()
        return True

    # -- housekeeping -----------------------------------------------------------------------

    def send_reminders(self) -> int:
        """Queue a reminder for every open alert whose last message is older than the interval."""
        if self._config.reminder_s is None:
            return 0
        sent = 0
        for alert in self.open_alerts():
            with write_transaction(self._engine) as conn:
                current = self._open(conn, alert.module, alert.key)
                if current is not None and self._reminder_due(current, self._clock()):
                    sent += self._remind(conn, current, self._clock())
        if sent and self._notifier is not None:
            self._notifier.wake()
        return sent

    def open_alerts(self, module: str | None = None) -> list[AlertRecord]:
        """Alerts still open, oldest first."""
        query = select(alerts_table).where(alerts_table.c.state == "open").order_by(alerts_table.c.opened_at)
        if module is not None:
            query = query.where(alerts_table.c.module == module)
        with self._engine.connect() as conn:
            return [AlertRecord.from_row(row) for row in conn.execute(query)]

    # -- inside a transaction ---------------------------------------------------------------

    def _open(self, conn: Connection, module: str, key: str) -> AlertRecord | None:
        row = conn.execute(
            select(alerts_table)
            .where(alerts_table.c.module == module, alerts_table.c.key == key, alerts_table.c.state == "open")
            .with_for_update()
        ).first()
        return AlertRecord.from_row(row) if row is not None else None

    def _insert(self, conn: Connection, module: str, key: str, kind: str, severity: str, state: str,
                now: datetime, message: str, data: dict[str, Any], closed_at: datetime | None = None) -> int:
        result = conn.execute(
            insert(alerts_table).values(
                module=module, key=key, kind=kind, severity=severity, state=state, opened_at=now,
                closed_at=closed_at, reminders=0, message=message, data=data,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])

    def _update_open(self, conn: Connection, current: AlertRecord, severity: str, message: str,
                     data: dict[str, Any], now: datetime) -> tuple[Outcome, bool]:
        values: dict[str, Any] = {"message": message, "data": data, "severity": severity}
        conn.execute(update(alerts_table).where(alerts_table.c.id == current.id).values(**values))
        if severity_rank(severity) > severity_rank(current.severity):
            queued = self._queue(conn, current.id, "escalated", current.module, current.kind, current.key,
                                 severity, message, now, current.opened_at, data)
            return "escalated", queued
        if self._reminder_due(current, now):
            refreshed = AlertRecord(**{**current.__dict__, **values})
            return "reminded", bool(self._remind(conn, refreshed, now))
        return "unchanged", False

    def _reminder_due(self, alert: AlertRecord, now: datetime) -> bool:
        interval = self._config.reminder_s
        if interval is None:
            return False
        since = alert.last_sent_at or alert.opened_at
        return (now - since).total_seconds() >= interval

    def _remind(self, conn: Connection, alert: AlertRecord, now: datetime) -> int:
        queued = self._queue(conn, alert.id, "reminder", alert.module, alert.kind, alert.key, alert.severity,
                             alert.message, now, alert.opened_at, alert.data or {})
        if queued:
            conn.execute(
                update(alerts_table).where(alerts_table.c.id == alert.id).values(reminders=alert.reminders + 1)
            )
        return int(queued)

    def _queue(self, conn: Connection, alert_id: int, phase: Phase, module: str, kind: str, key: str,
               severity: str, message: str, now: datetime, opened_at: datetime, data: dict[str, Any]) -> bool:
        channels = self._config.route(module, kind, severity)
        if not channels or self._notifier is None:
            return False
        notification = Notification(phase, module, kind, key, severity, message, now, self._site, alert_id,
                                    opened_at, data)
        self._notifier.enqueue(conn, notification, channels)
        conn.execute(update(alerts_table).where(alerts_table.c.id == alert_id).values(last_sent_at=now))
        return True

    def _notification(self, phase: Phase, alert: AlertRecord, message: str, now: datetime,
                      data: dict[str, Any]) -> Notification:
        return Notification(phase, alert.module, alert.kind, alert.key, alert.severity, message, now, self._site,
                            alert.id, alert.opened_at, data)

    @staticmethod
    def _channels_told(conn: Connection, alert_id: int) -> list[str]:
        rows = conn.execute(
            select(attempts_table.c.channel).where(
                attempts_table.c.alert_id == alert_id, attempts_table.c.status != "dropped"
            ).distinct()
        )
        return sorted(row.channel for row in rows)
