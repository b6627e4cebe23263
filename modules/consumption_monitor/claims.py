"""Which endpoints are due, and claiming them so two collectors never read the same one.

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the claiming UPDATE plus a lease
(``claimed_until``), so concurrent collectors take disjoint batches and a crashed collector's
claims expire. SQLite: the core's per-job file lock already serialises collectors; the same
statement runs without the locking clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, func, or_, select, update

from .tables import endpoint


def _due_filter(now: datetime, only: Sequence[str] | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        endpoint.c.enabled.is_(True),
        endpoint.c.retired_at.is_(None),
        or_(endpoint.c.claimed_until.is_(None), endpoint.c.claimed_until < now),
    ]
    if only:
        conditions.append(endpoint.c.id.in_(list(only)))  # named on the command line: read now
    else:
        conditions.append(or_(endpoint.c.next_due_at.is_(None), endpoint.c.next_due_at <= now))
    return conditions


def count_due(engine: Engine, now: datetime, only: Sequence[str] | None = None) -> int:
    """How many endpoints are due now (for progress)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(endpoint).where(*_due_filter(now, only))).scalar_one())


def claim_due(engine: Engine, *, owner: str, now: datetime, lease: timedelta, limit: int,
              only: Sequence[str] | None = None) -> list[str]:
    """Claim up to ``limit`` due endpoints for ``owner`` until ``now + lease``; return their ids."""
    candidates = (
        select(endpoint.c.id)
        .where(*_due_filter(now, only))
        .order_by(endpoint.c.next_due_at.asc().nulls_first(), endpoint.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(endpoint)
        .where(endpoint.c.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=owner, claimed_until=now + lease)
        .returning(endpoint.c.id)
    )
    with engine.begin() as conn:
        return sorted(row.id for row in conn.execute(statement))


def release(engine: Engine, owner: str, endpoint_ids: Sequence[str]) -> None:
    """Give back claims without reading (stopping early, or an endpoint no longer in the YAML)."""
    if not endpoint_ids:
        return
    with engine.begin() as conn:
        conn.execute(
            update(endpoint)
            .where(endpoint.c.id.in_(list(endpoint_ids)), endpoint.c.claimed_by == owner)
            .values(claimed_by=None, claimed_until=None)
        )
