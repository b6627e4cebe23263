"""Reading and writing the module's state tables inside one job run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from .tables import alert_log, device_state, readings, sensor_state
from .thresholds import SensorState


def take_write_lock(conn: Connection) -> None:
    """On SQLite, take the write lock before reading: a read-then-write transaction cannot wait for
    the lock once another connection (the notifier thread) has written, it fails at once."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE tm_device_state SET device_id = device_id WHERE 1 = 0"))


def load_state(conn: Connection, sensor_id: str) -> SensorState:
    """The sensor's state, ``ok`` when it was never read."""
    row = conn.execute(select(sensor_state).where(sensor_state.c.sensor_id == sensor_id)).first()
    if row is None:
        return SensorState()
    return SensorState(row.level, row.direction, row.pending_level, row.pending_direction, row.pending_since)


def save_state(conn: Connection, sensor_id: str, state: SensorState, value: float, at: datetime,
               changed: bool) -> None:
    """Upsert the state after a reading (portable: update, insert when nothing was updated)."""
    values: dict[str, Any] = {
        "level": state.level, "direction": state.direction, "pending_level": state.pending_level,
        "pending_direction": state.pending_direction, "pending_since": state.pending_since,
        "last_value": value, "last_at": at,
    }
    if changed:
        values["changed_at"] = at
    done = conn.execute(update(sensor_state).where(sensor_state.c.sensor_id == sensor_id).values(**values)).rowcount
    if not done:
        # a first row records when the state began, whether or not this reading changed it
        conn.execute(insert(sensor_state).values(sensor_id=sensor_id, **{**values, "changed_at": at}))


def add_reading(conn: Connection, sensor_id: str, device_id: str, at: datetime, value: float | None,
                unit: str | None, error: str | None = None) -> None:
    """Store one reading, or one failed read (value NULL, error set) so gaps are explained."""
    conn.execute(insert(readings).values(sensor_id=sensor_id, device_id=device_id, at=at, value=value,
                                         unit=unit, error=error))


def log_alert(conn: Connection, at: datetime, sensor_id: str, transition: str, level: str, direction: str | None,
              value: float | None, threshold: float | None, message: str) -> None:
    """Append to the module's alert history (the Alerts page)."""
    conn.execute(insert(alert_log).values(at=at, sensor_id=sensor_id, transition=transition, level=level,
                                          direction=direction, value=value, threshold=threshold, message=message))


def device_failed(conn: Connection, device_id: str, error: str) -> tuple[int, bool]:
    """Count one more failed run; return (failures in a row, already alerting)."""
    row = conn.execute(select(device_state).where(device_state.c.device_id == device_id)).first()
    if row is None:
        conn.execute(insert(device_state).values(device_id=device_id, consecutive_failures=1, alerting=0,
                                                 last_error=error))
        return 1, False
    failures = row.consecutive_failures + 1
    conn.execute(update(device_state).where(device_state.c.device_id == device_id)
                 .values(consecutive_failures=failures, last_error=error))
    return failures, bool(row.alerting)


def set_device_alerting(conn: Connection, device_id: str, alerting: bool) -> None:
    """Remember that an unreachable alert is open, so recovery is told once."""
    conn.execute(update(device_state).where(device_state.c.device_id == device_id).values(alerting=int(alerting)))


def device_ok(conn: Connection, device_id: str, at: datetime) -> bool:
    """Reset the failure count; return True when an unreachable alert was open."""
    row = conn.execute(select(device_state).where(device_state.c.device_id == device_id)).first()
    if row is None:
        conn.execute(insert(device_state).values(device_id=device_id, consecutive_failures=0, alerting=0,
                                                 last_ok_at=at))
        return False
    conn.execute(update(device_state).where(device_state.c.device_id == device_id)
                 .values(consecutive_failures=0, alerting=0, last_error=None, last_ok_at=at))
    return bool(row.alerting)
