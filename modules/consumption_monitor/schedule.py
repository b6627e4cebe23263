"""When an endpoint is read next: the one rescheduling rule, for readings stored now or late.

An endpoint's next due time is its latest reading plus its poll interval. Storing readings
never moves an endpoint's next due, last attempt or last success time back (a spooled reading
flushed late is older than what a later run stored), and releases only the claims of the
collector that stored them (another collector's claim is its own to release).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, DateTime, Text, bindparam, case, column, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from nxforge.sdk import UTCDateTime

from .readings import RawReading
from .tables import endpoint


def next_due(read_at: datetime, poll_interval_s: float) -> datetime:
    """When an endpoint read at ``read_at`` is due again."""
    return read_at + timedelta(seconds=poll_interval_s)


def _later(current: Any, value: Any) -> Any:
    """SQL for "the later of the column and the value", NULLs ignored (portable GREATEST)."""
    return case((value.is_(None), current), (or_(current.is_(None), current < value), value), else_=current)


def _update(times: Any) -> Any:
    """The UPDATE that moves the times of ``times`` (key, due, at, success_at) forward and releases claims."""
    mine = endpoint.c.claimed_by == bindparam("owner")
    return update(endpoint).where(endpoint.c.id == times.key).values(
        next_due_at=_later(endpoint.c.next_due_at, times.due),
        last_attempt_at=_later(endpoint.c.last_attempt_at, times.at),
        last_success_at=_later(endpoint.c.last_success_at, times.success_at),
        claimed_until=case((mine, None), else_=endpoint.c.claimed_until),
        claimed_by=case((mine, None), else_=endpoint.c.claimed_by),
    )


_ONE_ROW = _update(SimpleNamespace(key=bindparam("key"), due=bindparam("due", type_=UTCDateTime()),
                                   at=bindparam("at", type_=UTCDateTime()),
                                   success_at=bindparam("success_at", type_=UTCDateTime())))
"""Run once per endpoint (executemany): SQLite, in process, pays little per statement."""
_TIMESTAMPS = ARRAY(DateTime(timezone=True))
_ALL_ROWS = _update(func.unnest(bindparam("keys", type_=ARRAY(Text)), bindparam("dues", type_=_TIMESTAMPS),
                                bindparam("ats", type_=_TIMESTAMPS), bindparam("success_ats", type_=_TIMESTAMPS))
                    .table_valued(column("key", Text), column("due", DateTime(timezone=True)),
                                  column("at", DateTime(timezone=True)), column("success_at", DateTime(timezone=True)))
                    .render_derived(with_types=False).columns)
"""PostgreSQL: one statement over arrays, instead of one per endpoint sent through the pipeline."""


def lock_endpoints(conn: Connection, ids: Iterable[str]) -> dict[str, float]:
    """Lock the endpoints' rows in id order for this transaction; their poll intervals, by id.

    PostgreSQL: NO KEY UPDATE, as the UPDATE takes, so readings inserted beside (KEY SHARE through their
    foreign key) do not wait. Every writer that reschedules locks its rows here first and in one order,
    so two of them on overlapping endpoints (a spool flushed for several owners while a collector
    stores) queue instead of deadlocking: the UPDATE's join may reach rows in any order. SQLite locks
    the whole file anyway.
    """
    return dict(conn.execute(select(endpoint.c.id, endpoint.c.poll_interval_s)
                             .where(endpoint.c.id.in_(sorted(set(ids)))).order_by(endpoint.c.id)
                             .with_for_update(key_share=True)).fetchall())


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
    polls = lock_endpoints(conn, latest)
    due = {endpoint_id: next_due(raw.read_at, polls[endpoint_id])
           for endpoint_id, raw in latest.items() if endpoint_id in polls}
    if not due:
        return {}
    keys = sorted(due)
    if conn.dialect.name == "postgresql":
        conn.execute(_ALL_ROWS, {"keys": keys, "dues": [due[k] for k in keys],
                                 "ats": [latest[k].read_at for k in keys],
                                 "success_ats": [succeeded.get(k) for k in keys], "owner": owner})
    else:
        conn.execute(_ONE_ROW, [{"key": k, "due": due[k], "at": latest[k].read_at, "success_at": succeeded.get(k),
                                 "owner": owner} for k in keys])
    return due
