"""The one rescheduling rule: next due = latest reading + poll interval, never moved back; own claims released."""

from __future__ import annotations

from datetime import timedelta

from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.schedule import next_due, reschedule
from nxforge_modules.consumption_monitor.tables import endpoint
from sqlalchemy import Engine, select, update

from tests.modules.consumption_monitor.conftest import add_endpoint, utc

T0 = utc(2026, 4, 14, 9)
POLL = timedelta(minutes=15)


def times(engine: Engine, endpoint_id: str) -> tuple[object, ...]:
    with engine.connect() as conn:
        row = conn.execute(select(endpoint.c.next_due_at, endpoint.c.last_attempt_at, endpoint.c.last_success_at,
                                  endpoint.c.claimed_by, endpoint.c.claimed_until)
                           .where(endpoint.c.id == endpoint_id)).one()
    return tuple(row)


def test_readings_move_times_forward_and_release_own_claims(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "mine")
    add_endpoint(cm_engine, "theirs")
    with cm_engine.begin() as conn:
        conn.execute(update(endpoint).where(endpoint.c.id == "mine").values(claimed_by="me", claimed_until=T0))
        conn.execute(update(endpoint).where(endpoint.c.id == "theirs").values(claimed_by="other", claimed_until=T0))
        due = reschedule(conn, [RawReading("mine", T0, True, raw_kwh=1.0),
                                RawReading("mine", T0 - POLL, True, raw_kwh=0.5),
                                RawReading("theirs", T0, False, error_class="timeout")], owner="me")
    assert due == {"mine": T0 + POLL, "theirs": T0 + POLL} == {"mine": next_due(T0, 900), "theirs": T0 + POLL}
    assert times(cm_engine, "mine") == (T0 + POLL, T0, T0, None, None)
    assert times(cm_engine, "theirs") == (T0 + POLL, T0, None, "other", T0)  # another collector's claim stays


def test_a_late_reading_never_moves_times_back(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "e1")
    with cm_engine.begin() as conn:
        reschedule(conn, [RawReading("e1", T0, True, raw_kwh=2.0)])
        reschedule(conn, [RawReading("e1", T0 - 2 * POLL, True, raw_kwh=1.0)])  # a spooled one, flushed late
        reschedule(conn, [RawReading("e1", T0 + POLL, False, error_class="timeout")])
    assert times(cm_engine, "e1") == (T0 + 2 * POLL, T0 + POLL, T0, None, None)
