"""When an endpoint is read next: the one rescheduling rule, for readings stored now or late.

An endpoint's next due time is its latest reading plus its poll interval. Storing readings
never moves an endpoint's next due, last attempt or last success time back (a spooled reading
flushed late is older than what a later run stored), and releases only the claims of the
collector that stored them (another collector's claim is its own to release).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, case, or_, select, update

from nxforge.sdk import UTCDateTime

from .readings import RawReading
from .tables import endpoint


def next_due(read_at: datetime, poll_interval_s: float) -> datetime:
    """When an endpoint read at ``read_at`` is due again."""
    return read_at + timedelta(seconds=poll_interval_s)


def _later(column: object, name: str) -> object:
    """SQL for "the later of the column and the bound value", NULLs ignored (portable GREATEST)."""
    value = bindparam(name, type_=UTCDateTime())
    return case((value.is_(None), column), (or_(column.is_(None), column < value), value),  # type: ignore[attr-defined]
                else_=column)


def reschedule(conn: Connection, readings: Iterable[RawReading], owner: str | None = None) -> dict[str, datetime]:
    """After storing ``readings``: move each endpoint's times forward (never back); return next due by endpoint.

    ``owner`` is the collector that claimed these endpoints for this run: its claims are released.
    """
    latest: dict[str, RawReading] = {}
    succeeded: dict[str, datetime] = {}
    for raw in readings:
        if raw.endpoint_id not in latest or raw.read_at > latest[raw.endpoint_id].read_at:
            latest[raw.endpoint_id] = raw
        if raw.success and (raw.endpoint_id not in succeeded or raw.read_at > succeeded[raw.endpoint_id]):
            succeeded[raw.endpoint_id] = raw.read_at
    if not latest:
        return {}
    polls = dict(conn.execute(select(endpoint.c.id, endpoint.c.poll_interval_s)
                              .where(endpoint.c.id.in_(sorted(latest)))).fetchall())
    due = {endpoint_id: next_due(raw.read_at, polls[endpoint_id])
           for endpoint_id, raw in latest.items() if endpoint_id in polls}
    if not due:
        return {}
    release = case((endpoint.c.claimed_by == bindparam("owner"), None), else_=endpoint.c.claimed_by)
    conn.execute(
        update(endpoint).where(endpoint.c.id == bindparam("key")).values(
            next_due_at=_later(endpoint.c.next_due_at, "due"),
            last_attempt_at=_later(endpoint.c.last_attempt_at, "at"),
            last_success_at=_later(endpoint.c.last_success_at, "success_at"),
            claimed_until=case((endpoint.c.claimed_by == bindparam("owner"), None), else_=endpoint.c.claimed_until),
            claimed_by=release,
        ),
        [{"key": endpoint_id, "due": at, "at": latest[endpoint_id].read_at,
          "success_at": succeeded.get(endpoint_id), "owner": owner} for endpoint_id, at in sorted(due.items())],
    )
    return due
