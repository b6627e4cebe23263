"""The one rescheduling rule: next due = latest reading + poll interval, never moved back; own claims released."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from nxforge_modules.consumption_monitor.collect_offline import store_spooled
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.schedule import next_due, reschedule
from nxforge_modules.consumption_monitor.store import store_batch
from nxforge_modules.consumption_monitor.tables import endpoint
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError

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


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has one writer: no row locks
def test_a_spool_flushed_for_several_owners_beside_a_storing_collector_does_not_deadlock(cm_engine: Engine) -> None:
    """The flush reschedules owner by owner in one transaction; a collector storing the same endpoints
    meanwhile must queue behind it, not lock one row while it waits on the other (PostgreSQL aborts one)."""
    for endpoint_id in ("e0", "e1", "e2"):
        add_endpoint(cm_engine, endpoint_id)
    with cm_engine.begin() as conn:  # the month's partition exists, as it does but on a month's first reading
        store_batch(conn, [RawReading("e0", T0, True, raw_kwh=1.0)])
    spooled = [RawReading("e2", T0, True, raw_kwh=1.0), RawReading("e1", T0, True, raw_kwh=1.0)]
    outcome: dict[str, str] = {}

    def flush() -> None:
        try:
            with cm_engine.begin() as conn:
                store_spooled(conn, spooled, ["collector-a", "collector-b"])  # owner a: e2, then owner b: e1
            outcome["flush"] = "stored"
        except DBAPIError as exc:
            outcome["flush"] = str(exc.orig)

    with cm_engine.connect() as online:
        with online.begin():
            reschedule(online, [RawReading("e1", T0 + POLL, True, raw_kwh=2.0)], owner="collector-c")  # holds e1
            flusher = threading.Thread(target=flush)
            flusher.start()
            with cm_engine.connect() as watch:  # until the flush waits on a row lock held by the collector
                for _ in range(200):
                    if watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND datname = current_database()")).scalar_one():
                        break
                    watch.rollback()
                    time.sleep(0.05)
            try:  # e2 next: held by the flush if it locked its first owner's rows before the second's
                reschedule(online, [RawReading("e2", T0 + POLL, True, raw_kwh=2.0)], owner="collector-c")
                outcome["collector"] = "stored"
            except DBAPIError as exc:
                outcome["collector"] = str(exc.orig)
        flusher.join(30)
    assert outcome == {"collector": "stored", "flush": "stored"}  # without the lock in id order: "deadlock detected"
    assert times(cm_engine, "e1")[0] == times(cm_engine, "e2")[0] == T0 + 2 * POLL
