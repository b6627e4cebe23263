"""Decide from the database whether a job is due, so cron, the daemon and a restart agree."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from nxforge.db.schema import executions
from nxforge.db.types import UTCDateTime
from nxforge.module_system.manifest import Schedule

# A tick that lands a hair early (cron's minute vs. the job's last start) still counts as due.
EARLY_SLACK = 0.05


def last_start(engine: Engine, module: str, job: str) -> datetime | None:
    """When the job last started (any outcome)."""
    with engine.connect() as conn:
        value: datetime | None = conn.execute(
            select(func.max(executions.c.started_at)).where(executions.c.module == module, executions.c.job == job)
        ).scalar()
    if value is None:
        return None
    # func.max bypasses the column type on SQLite: normalise to aware UTC.
    return UTCDateTime().process_result_value(value, engine.dialect)


def is_due(schedule: Schedule | None, last: datetime | None, now: datetime, timezone: ZoneInfo) -> bool:
    """True when the job should run at ``now`` given when it last started."""
    if schedule is None:
        return False
    if last is None:
        return True
    if schedule.interval_s is not None:
        return (now - last).total_seconds() >= schedule.interval_s * (1 - EARLY_SLACK)
    assert schedule.daily_at is not None
    local_now = now.astimezone(timezone)
    today_at = local_now.replace(
        hour=schedule.daily_at.hour, minute=schedule.daily_at.minute, second=0, microsecond=0
    )
    latest_slot = today_at if local_now >= today_at else today_at - timedelta(days=1)
    return last < latest_slot
