"""Property: readings stored one by one and in batches give identical rows, on SQLite and PostgreSQL.

Hypothesis draws meter histories with growth, display jitter, resets, rollovers, implausible
jumps (one-off garbage and unrecorded swaps, against a circuit rating, a default plausible
power or the endpoint's own peak), failed reads, swaps recorded by ops and readings
delivered late (out of order, as a spool flush does). The same history is written to two copies
of each endpoint: one reading per transaction through ``store_reading``, and in batches through
``store_batch``. Every stored column that the counter correction decides must match exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.store import store_batch, store_reading
from nxforge_modules.consumption_monitor.tables import endpoint, meter_event, reading
from sqlalchemy import Engine, insert, select, update

from tests.modules.consumption_monitor.conftest import add_endpoint, utc

T0 = utc(2026, 4, 1)
ROLLOVER = 100_000.0
COLUMNS = ("read_at", "success", "raw_kwh", "corrected_kwh", "offset_kwh", "event", "estimated_kwh", "cum_good",
           "cum_failed", "cum_events", "cum_estimated_kwh")
STEPS = ("grow", "grow", "grow", "jitter", "reset", "near_max", "garbage", "unrecorded_swap", "failed", "swap")
EXAMPLE = itertools.count()


@dataclass(frozen=True)
class History:
    """One endpoint's readings (chronological), the swaps ops recorded, and the order they arrive in."""

    readings: list[tuple[datetime, float | None, float | None]]  # read_at, raw kWh (None: failed), power W
    swaps: list[tuple[datetime, float, float]]  # at, old final, new initial
    arrival: list[int]  # indexes into readings
    circuit_max_kw: float | None
    default_max_kw: float | None  # plausible power without a rating; 5 kW makes the history rule decide often
    rollover_kwh: float | None


@st.composite
def histories(draw: st.DrawFn) -> History:
    """A meter's life: what it showed at each poll, including the faults meters have."""
    meter = draw(st.integers(0, 5_000)) / 10
    rollover = draw(st.sampled_from([ROLLOVER, None]))
    at = T0
    readings: list[tuple[datetime, float | None, float | None]] = []
    swaps: list[tuple[datetime, float, float]] = []
    for step in draw(st.lists(st.sampled_from(STEPS), min_size=3, max_size=12)):
        at += timedelta(minutes=5 * draw(st.integers(1, 6)))
        shown: float | None = None
        if step == "grow":
            meter += draw(st.integers(0, 40)) / 10
        elif step == "jitter":
            meter = max(0.0, meter - 0.2)
        elif step == "reset":
            meter = draw(st.integers(0, 30)) / 10
        elif step == "near_max" and rollover:
            meter = (meter + (rollover - 1.0 - meter) * draw(st.sampled_from([0, 1]))) % rollover
        elif step == "garbage":
            shown = meter + 5_000.0  # once; the next reading shows the true counter again
        elif step == "unrecorded_swap":
            meter = 20_000.0 + draw(st.integers(0, 100)) / 10
        elif step == "swap":
            new_meter = draw(st.integers(0, 50)) / 10
            swaps.append((at - timedelta(minutes=1), meter, new_meter))
            meter = new_meter
        if rollover and meter >= rollover:
            meter -= rollover
        power = draw(st.sampled_from([None, 1500.0, 4000.0]))
        readings.append((at, None if step == "failed" else (shown if shown is not None else meter), power))
    arrival = list(range(len(readings)))
    for _ in range(draw(st.integers(0, 3))):  # some readings arrive late (spooled, flushed after later ones)
        late = arrival.pop(draw(st.integers(0, len(arrival) - 1)))
        arrival.insert(draw(st.integers(0, len(arrival))), late)
    return History(readings, swaps, arrival, draw(st.sampled_from([None, 10.0])),
                   draw(st.sampled_from([None, 50.0, 5.0])), rollover)


def _raw(endpoint_id: str, at: datetime, kwh: float | None, power_w: float | None) -> RawReading:
    if kwh is None:
        return RawReading(endpoint_id, at, False, error_class="timeout", error_message="no answer")
    return RawReading(endpoint_id, at, True, raw_kwh=kwh, power_w=power_w)


def _prepare(engine: Engine, endpoint_id: str, history: History) -> None:
    add_endpoint(engine, endpoint_id, circuit_max_kw=history.circuit_max_kw, rollover_kwh=history.rollover_kwh)
    with engine.begin() as conn:
        conn.execute(update(endpoint).where(endpoint.c.id == endpoint_id).values(default_max_kw=history.default_max_kw))
        for at, old_final, new_initial in history.swaps:
            conn.execute(insert(meter_event).values(
                endpoint_id=endpoint_id, at=at, kind="swap", old_final_kwh=old_final, new_initial_kwh=new_initial,
                who="ops", why="property test", recorded_at=at))


def _rows(engine: Engine, endpoint_id: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(*(reading.c[c] for c in COLUMNS)).where(reading.c.endpoint_id == endpoint_id)
            .order_by(reading.c.read_at))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(pair=st.tuples(histories(), histories()), batch_size=st.integers(1, 12))  # 12: a spool flush's several per meter
def test_one_by_one_and_batched_store_identical_rows(cm_engine: Engine, pair: tuple[History, History],
                                                     batch_size: int) -> None:
    example = next(EXAMPLE)
    deliveries: list[tuple[int, int]] = []  # (meter, reading index), interleaved as a collector would store them
    for position in range(max(len(h.arrival) for h in pair)):
        deliveries += [(m, h.arrival[position]) for m, h in enumerate(pair) if position < len(h.arrival)]
    single = [f"x{example}-single-{m}" for m in range(2)]
    batched = [f"x{example}-batched-{m}" for m in range(2)]
    for m, history in enumerate(pair):
        _prepare(cm_engine, single[m], history)
        _prepare(cm_engine, batched[m], history)

    for m, index in deliveries:
        with cm_engine.begin() as conn:
            store_reading(conn, _raw(single[m], *pair[m].readings[index]))
    for start in range(0, len(deliveries), batch_size):
        with cm_engine.begin() as conn:
            outcomes = store_batch(conn, [_raw(batched[m], *pair[m].readings[index])
                                          for m, index in deliveries[start:start + batch_size]])
        assert all(outcome.inserted for outcome in outcomes)

    for m in range(2):
        assert _rows(cm_engine, single[m]) == _rows(cm_engine, batched[m]), f"meter {m}"
