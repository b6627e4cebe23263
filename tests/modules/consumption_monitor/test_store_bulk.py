"""The batched write path (COPY on PostgreSQL, one multi-row INSERT on SQLite) stores what one-by-one stores."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from nxforge_modules.consumption_monitor.alerts import latest_readings
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.store import store_batch, store_reading
from nxforge_modules.consumption_monitor.store_bulk import recent_readings
from nxforge_modules.consumption_monitor.tables import reading, reading_hourly
from sqlalchemy import Engine, select, text

from tests.modules.consumption_monitor.conftest import add_endpoint, utc

T0 = utc(2026, 4, 30, 23, 15)  # the series crosses a month (two partitions on PostgreSQL)
STEP = timedelta(minutes=15)
NASTY = "tab\there, newline\nthere, back\\slash, quote ' \" , NUL-free \u00e9\u20ac \\N"


def _series(endpoint_id: str, n: int) -> list[RawReading]:
    """Ten attempts of every kind: full readings, a failure with COPY-hostile text, a reset, a jump."""
    out = []
    for k in range(10):
        at = T0 + k * STEP
        if k == 3:
            out.append(RawReading(endpoint_id, at, False, error_class="parse_error", error_message=NASTY,
                                  evidence_path=f"evidence/endpoint {n}\t{k}.png", engine="http", duration_ms=12))
            continue
        kwh = 100.0 + k * (n + 1) - (60 if k == 6 else 0) + (5000 if (n, k) == (2, 8) else 0)
        out.append(RawReading(endpoint_id, at, True, raw_kwh=kwh, power_w=1000.0 + n, voltage_v=230.1,
                              current_a=4.35, power_factor=0.97, engine="snmp", duration_ms=7 + k))
    return out


COLUMNS = [c.name for c in reading.columns if c.name not in ("id", "endpoint_id", "reading_key")]


def _rows(engine: Engine, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(reading.c.endpoint_id, *(reading.c[c] for c in COLUMNS))
                                .where(reading.c.endpoint_id.like(f"{prefix}-%")).order_by(reading.c.read_at)):
            found.setdefault(row[0].split("-", 1)[1], []).append(tuple(row[1:]))
    return found


def _hours(engine: Engine, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(reading_hourly).where(reading_hourly.c.endpoint_id.like(f"{prefix}-%"))
                                .order_by(reading_hourly.c.hour)):
            found.setdefault(row[0].split("-", 1)[1], []).append(tuple(row[1:]))
    return found


def test_batched_rows_and_hours_equal_one_by_one(cm_engine: Engine) -> None:
    for prefix in ("one", "many"):
        for n in range(3):
            add_endpoint(cm_engine, f"{prefix}-{n}", circuit_max_kw=10.0)
    for n in range(3):
        for raw in _series(f"one-{n}", n):
            with cm_engine.begin() as conn:
                store_reading(conn, raw)
    batches = list(zip(*(_series(f"many-{n}", n) for n in range(3)), strict=True))
    for first, second in zip(batches[::2], batches[1::2], strict=True):
        with cm_engine.begin() as conn:  # two batches in one transaction: the staging tables are reused
            assert all(outcome.inserted for outcome in store_batch(conn, list(first)))
            assert all(outcome.inserted for outcome in store_batch(conn, list(second)))
    one, many = _rows(cm_engine, "one"), _rows(cm_engine, "many")
    assert one == many
    assert len(many["0"]) == 10 and many["0"][3][COLUMNS.index("error_message")] == NASTY
    assert "implausible" in [row[COLUMNS.index("event")] for row in many["2"]]
    assert _hours(cm_engine, "one") == _hours(cm_engine, "many")


def test_a_batch_stored_twice_is_stored_once(cm_engine: Engine) -> None:
    for n in range(3):
        add_endpoint(cm_engine, f"dup-{n}", circuit_max_kw=10.0)
    batch = [_series(f"dup-{n}", n)[0] for n in range(3)]
    with cm_engine.begin() as conn:
        assert all(outcome.inserted for outcome in store_batch(conn, batch))
    before = _rows(cm_engine, "dup"), _hours(cm_engine, "dup")
    with cm_engine.begin() as conn:  # the same readings again (a spool flushed twice): nothing new, hours unchanged
        outcomes = store_batch(conn, batch)
    assert not any(outcome.inserted for outcome in outcomes)
    assert all(outcome.corrected is not None for outcome in outcomes)
    assert (_rows(cm_engine, "dup"), _hours(cm_engine, "dup")) == before
    later = [_series(f"dup-{n}", n)[1] for n in range(3)]
    with cm_engine.begin() as conn:  # one new and two already stored in one batch
        store_batch(conn, later[:1])
    with cm_engine.begin() as conn:
        assert [outcome.inserted for outcome in store_batch(conn, later)] == [False, True, True]
    assert [len(rows) for rows in _rows(cm_engine, "dup").values()] == [2, 2, 2]


def test_a_rolled_back_batch_leaves_nothing_and_the_next_one_stores(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "rb-0", circuit_max_kw=10.0)
    series = _series("rb-0", 0)

    class Stop(Exception):
        pass

    with pytest.raises(Stop), cm_engine.begin() as conn:  # the staging table made here goes with the rollback
        store_batch(conn, series[:1])
        raise Stop
    assert _rows(cm_engine, "rb") == {}
    with cm_engine.begin() as conn:
        assert [outcome.inserted for outcome in store_batch(conn, series[:1])] == [True]
        if conn.dialect.name == "postgresql":  # the COPY path ran: its staging table is in this session
            assert conn.execute(text("SELECT to_regclass('pg_temp.cm_reading_incoming')")).scalar() is not None
    assert len(_rows(cm_engine, "rb")["0"]) == 1


def test_recent_readings_for_many_equal_one_by_one(cm_engine: Engine) -> None:
    ids = [f"rec-{n}" for n in range(4)]
    for endpoint_id in ids:
        add_endpoint(cm_engine, endpoint_id, circuit_max_kw=10.0)
    for n, endpoint_id in enumerate(ids[:3]):  # the last one has no reading at all
        with cm_engine.begin() as conn:
            store_batch(conn, _series(endpoint_id, n)[: 2 + 3 * n])
    found = recent_readings(cm_engine, ids, 3)
    for endpoint_id in ids:
        one_by_one = _with_time(cm_engine, endpoint_id, latest_readings(cm_engine, endpoint_id, 3))
        assert [tuple(row) for row in found[endpoint_id]] == one_by_one
    assert found["rec-3"] == [] and len(found["rec-0"]) == 2 and len(found["rec-2"]) == 3


def _with_time(engine: Engine, endpoint_id: str, rows: list[Any]) -> list[tuple[Any, ...]]:
    """``latest_readings`` rows with their time first, as ``recent_readings`` gives them."""
    with engine.connect() as conn:
        times = [row.read_at for row in conn.execute(select(reading.c.read_at).where(
            reading.c.endpoint_id == endpoint_id).order_by(reading.c.read_at.desc()).limit(len(rows)))]
    return [(at, *row) for at, row in zip(times, rows, strict=True)]


def test_endpoints_silent_for_months_are_corrected_from_their_old_readings(cm_engine: Engine) -> None:
    # The newest rows of an endpoint silent for months lie in older monthly partitions (PostgreSQL), or
    # only failures came lately: the batched path finds them as the one-by-one path does.
    months = [T0 - timedelta(days=days) for days in (120, 90, 60)]
    for prefix in ("one", "many"):
        add_endpoint(cm_engine, f"{prefix}-old", circuit_max_kw=10.0)  # two usable readings, then silence
        add_endpoint(cm_engine, f"{prefix}-half", circuit_max_kw=10.0)  # old usable ones, then one failure lately
        for at, kwh in zip(months[:2], (100.0, 900.0), strict=True):
            for endpoint_id in (f"{prefix}-old", f"{prefix}-half"):
                with cm_engine.begin() as conn:
                    store_reading(conn, RawReading(endpoint_id, at, True, raw_kwh=kwh, power_w=500.0))
        with cm_engine.begin() as conn:
            store_reading(conn, RawReading(f"{prefix}-half", T0 - timedelta(days=2), False, error_class="timeout",
                                           error_message="no answer"))
    news = {f"{p}-{e}": RawReading(f"{p}-{e}", T0, True, raw_kwh=50.0, power_w=500.0)  # lower: a reset
            for p in ("one", "many") for e in ("old", "half")}
    for endpoint_id in ("one-old", "one-half"):
        with cm_engine.begin() as conn:
            store_reading(conn, news[endpoint_id])
    with cm_engine.begin() as conn:
        store_batch(conn, [news["many-old"], news["many-half"]])
    one, many = _rows(cm_engine, "one"), _rows(cm_engine, "many")
    assert one == many
    assert [row[COLUMNS.index("event")] for row in many["old"]] == [None, None, "reset"]
    assert many["half"][-1][COLUMNS.index("cum_failed")] == 1 and many["half"][-1][COLUMNS.index("cum_good")] == 3


def test_a_late_batch_sees_readings_stored_in_later_months(cm_engine: Engine) -> None:
    # The newest-rows query looks in the months up to the batch's first (PostgreSQL prunes the months
    # ahead): a reading stored for a later month must still make a late one go the late path, which
    # renumbers the later rows' running totals, exactly as one by one does.
    later = T0 + timedelta(days=40)  # June: two months after the batch's April reading
    for prefix in ("one", "many"):
        for name in ("late", "plain"):
            add_endpoint(cm_engine, f"{prefix}-{name}", circuit_max_kw=10.0)
        with cm_engine.begin() as conn:
            store_reading(conn, RawReading(f"{prefix}-late", later, True, raw_kwh=900.0, power_w=500.0))
    early = T0 - timedelta(days=1)
    for endpoint_id in ("one-late", "one-plain"):
        with cm_engine.begin() as conn:
            store_reading(conn, RawReading(endpoint_id, early, True, raw_kwh=100.0, power_w=500.0))
    with cm_engine.begin() as conn:
        outcomes = store_batch(conn, [RawReading(e, early, True, raw_kwh=100.0, power_w=500.0)
                                      for e in ("many-late", "many-plain")])
    assert [outcome.inserted for outcome in outcomes] == [True, True]
    one, many = _rows(cm_engine, "one"), _rows(cm_engine, "many")
    assert one == many
    good = COLUMNS.index("cum_good")
    assert [row[good] for row in many["late"]] == [1, 2]  # the June reading renumbered after the late April one
    assert [row[good] for row in many["plain"]] == [1]
