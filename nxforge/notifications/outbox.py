"""The outbox in ``notification_attempts``: queue, claim, and record each delivery.

Claiming is a compare-and-set ``UPDATE`` on (id, status, attempts), which works the same on
SQLite and PostgreSQL: two collectors sweeping the outbox never send one row twice. A row left
``sending`` by a process that died is taken over once its lease has run out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from nxforge.db.types import UTCDateTime
from nxforge.notifications.message import Notification
from nxforge.notifications.tables import notification_attempts as attempts_table

log = logging.getLogger(__name__)

WAITING = ("pending", "sending")


@dataclass(frozen=True)
class Delivery:
    """One claimed row: send ``notification`` to ``channel``; this is attempt number ``attempt``."""

    id: int
    channel: str
    attempt: int
    notification: Notification


def waiting_count(conn: Connection) -> int:
    """Deliveries not yet sent nor given up."""
    return int(
        conn.execute(select(func.count()).select_from(attempts_table).where(attempts_table.c.status.in_(WAITING)))
        .scalar_one()
    )


def enqueue(conn: Connection, notification: Notification, channels: list[str], now: datetime, max_pending: int) -> int:
    """Queue ``notification`` for each channel in the caller's transaction; return how many were queued.

    Past ``max_pending`` waiting rows the new ones are recorded as ``dropped``: a storm of alerts
    against a dead channel must not grow the outbox without bound.
    """
    if not channels:
        return 0
    full = waiting_count(conn) >= max_pending
    if full:
        log.error("notification outbox holds %d waiting deliveries; dropping %s for %s",
                  max_pending, notification.title, ", ".join(channels))
    payload = notification.to_json()
    conn.execute(
        insert(attempts_table),
        [
            {
                "created_at": now,
                "alert_id": notification.alert_id,
                "module": notification.module,
                "kind": notification.kind,
                "phase": notification.phase,
                "severity": notification.severity,
                "channel": channel,
                "status": "dropped" if full else "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "outbox full" if full else None,
                "payload": payload,
            }
            for channel in channels
        ],
    )
    return 0 if full else len(channels)


def claim_due(engine: Engine, now: datetime, lease_s: float, limit: int = 50) -> list[Delivery]:
    """Take up to ``limit`` deliveries that are due (or whose sender vanished) for this process."""
    expired = now - timedelta(seconds=lease_s)
    due = or_(
        and_(attempts_table.c.status == "pending", attempts_table.c.next_attempt_at <= now),
        and_(attempts_table.c.status == "sending", attempts_table.c.claimed_at < expired),
    )
    claimed: list[Delivery] = []
    with engine.begin() as conn:
        rows = conn.execute(
            select(attempts_table.c.id, attempts_table.c.status, attempts_table.c.attempts,
                   attempts_table.c.channel, attempts_table.c.payload)
            .where(due).order_by(attempts_table.c.id).limit(limit)
        ).all()
    for row in rows:
        with engine.begin() as conn:
            taken = conn.execute(
                update(attempts_table)
                .where(attempts_table.c.id == row.id, attempts_table.c.status == row.status,
                       attempts_table.c.attempts == row.attempts)
                .values(status="sending", claimed_at=now, attempts=row.attempts + 1)
            ).rowcount
        if taken == 1:
            claimed.append(Delivery(row.id, row.channel, row.attempts + 1, Notification.from_json(row.payload)))
    return claimed


def record(engine: Engine, delivery_id: int, **values: Any) -> None:
    """Store the outcome of an attempt (status, error, next attempt, sent time)."""
    with engine.begin() as conn:
        conn.execute(update(attempts_table).where(attempts_table.c.id == delivery_id).values(**values))


def next_due_at(engine: Engine) -> datetime | None:
    """When the earliest pending delivery becomes due, or None when nothing waits."""
    with engine.connect() as conn:
        value = conn.execute(
            select(func.min(attempts_table.c.next_attempt_at)).where(attempts_table.c.status == "pending")
        ).scalar()
    # func.min bypasses the column type on SQLite: normalise to aware UTC.
    return UTCDateTime().process_result_value(value, engine.dialect)


def waiting(engine: Engine) -> int:
    """Deliveries still pending or in flight."""
    with engine.connect() as conn:
        return waiting_count(conn)
