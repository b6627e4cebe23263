"""Billing review defects at month boundaries (#2, #8, #13), on SQLite and PostgreSQL.

A correction dated on a boundary is a step there, not a slope across it; a reset on a meter near
its rollover value is a reset when the endpoint's plausible power rules out a wrap; a reset whose
first reading falls on the boundary is counted, with its estimate, in the month whose energy holds it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nxforge_modules.consumption_monitor.billing import billing_by_endpoint
from nxforge_modules.consumption_monitor.corrections import record_correction
from nxforge_modules.consumption_monitor.counters import Corrected, CounterRules, CounterState, CounterWalk, correct
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.store import store_batch
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import Engine, select, update

from tests.modules.consumption_monitor.conftest import add_endpoint, utc
from tests.modules.consumption_monitor.test_billing_reference import BERLIN, SETTINGS

NOW = utc(2026, 12, 5)  # SETTINGS: readings up to 6 h apart are not gaps (fewer writes, same boundaries)
NOV_START = datetime(2026, 11, 1, tzinfo=BERLIN)  # 2026-10-31 23:00 UTC


def _store(engine: Engine, endpoint_id: str, points: list[tuple[datetime, float]], power_w: float | None = None
           ) -> None:
    with engine.begin() as conn:
        store_batch(conn, [RawReading(endpoint_id, at, True, raw_kwh=kwh, power_w=power_w) for at, kwh in points])


def _steps(first: datetime, last: datetime, step: timedelta) -> list[datetime]:
    found, at = [], first
    while at < last:
        found.append(at)
        at += step
    return found


def _month(engine: Engine, month: str) -> dict[str, Any]:
    return billing_by_endpoint(engine, month, BERLIN, NOW, settings=SETTINGS).row(0, named=True)


def _oct_nov(engine: Engine) -> list[float]:
    return [round(_month(engine, month)["kwh"], 3) for month in ("2026-10", "2026-11")]


@pytest.mark.parametrize("first", [utc(2026, 9, 20, 0, 30), utc(2026, 9, 20, 23)],
                         ids=["readings-at-half-past", "reading-on-the-boundary"])
def test_correction_dated_on_the_boundary_lands_wholly_in_the_next_month(cm_engine: Engine, first: datetime) -> None:
    """#2 (s16): +40 kWh dated 1 Nov 00:00 Berlin, 2 kW: October unchanged, November +40.

    Readings every 3 hours (fewer writes; the interpolation is the same): either bracketing the
    boundary (20:30 and 23:30 UTC) or one exactly on it (23:00 UTC)."""
    add_endpoint(cm_engine, "a-1", poll_interval_s=3 * 3600)
    origin = utc(2026, 9, 20)
    _store(cm_engine, "a-1", [(at, 100 + 2 * (at - origin).total_seconds() / 3600)
                              for at in _steps(first, utc(2026, 12, 2), timedelta(hours=3))])
    assert _oct_nov(cm_engine) == [1490.0, 1440.0]  # 745 h and 720 h at 2 kW
    record_correction(cm_engine, "a-1", at=NOV_START, delta_kwh=40.0, who="ops", why="agreed", recorded_at=NOW)
    assert _oct_nov(cm_engine) == [1490.0, 1480.0]


def test_correction_inside_an_interval_is_a_step_at_its_time(cm_engine: Engine) -> None:
    """#2: a correction between two readings counts from its time on, not spread over the interval."""
    add_endpoint(cm_engine, "a-1", poll_interval_s=6 * 3600)
    origin = utc(2026, 9, 20)
    # readings every 6 h from 20 Sep 00:00 UTC: 31 Oct 18:00 and 1 Nov 00:00 UTC bracket the boundary (23:00 UTC)
    _store(cm_engine, "a-1", [(at, 100 + 2 * (at - origin).total_seconds() / 3600)
                              for at in _steps(origin, utc(2026, 12, 2), timedelta(hours=6))])
    record_correction(cm_engine, "a-1", at=utc(2026, 10, 31, 20), delta_kwh=-12.0, who="ops", why="meter over-read",
                      recorded_at=NOW)
    record_correction(cm_engine, "a-1", at=utc(2026, 10, 31, 23, 30), delta_kwh=30.0, who="ops", why="agreed",
                      recorded_at=NOW)
    assert _oct_nov(cm_engine) == [1490.0 - 12.0, 1440.0 + 30.0]


def test_correction_after_the_last_reading_counts_from_its_time(cm_engine: Engine) -> None:
    """#2: a correction dated after the endpoint's last reading moves the counter held there from its time on."""
    add_endpoint(cm_engine, "a-1", poll_interval_s=3600)
    origin = utc(2026, 9, 20)
    _store(cm_engine, "a-1", [(at, 100 + 2 * (at - origin).total_seconds() / 3600)
                              for at in _steps(origin, utc(2026, 10, 20), timedelta(hours=1))])
    before = _month(cm_engine, "2026-10")
    record_correction(cm_engine, "a-1", at=utc(2026, 10, 25), delta_kwh=25.0, who="ops", why="meter dead",
                      recorded_at=NOW)
    after = _month(cm_engine, "2026-10")
    assert after["kwh"] == pytest.approx(before["kwh"] + 25.0)
    assert after["estimated_kwh"] == pytest.approx(before["estimated_kwh"])  # recorded, not estimated
    assert _month(cm_engine, "2026-11")["kwh"] == pytest.approx(0.0)


def test_reset_near_the_rollover_value_is_a_reset_when_the_power_rules_out_a_wrap(cm_engine: Engine) -> None:
    """#8 (s20): a web meter at 990,500 kWh (wraps at 999,999.9), 5 kW, no rating, default plausible 50 kW,
    power-cycled on 15 Oct 12:07: October bills 745 h x 5 kW, one reset with a small estimate, no rollover."""
    add_endpoint(cm_engine, "w-1", rollover_kwh=999999.9, circuit_max_kw=None)
    with cm_engine.begin() as conn:
        conn.execute(update(endpoint).values(default_max_kw=50.0))
    start, cycled = utc(2026, 9, 25), utc(2026, 10, 15, 12, 7)
    points = [(at, round(990500 + 5 * (at - start).total_seconds() / 3600 if at < cycled
                         else 5 * (at - cycled).total_seconds() / 3600, 3))
              for at in _steps(start, utc(2026, 11, 3), timedelta(hours=1))]  # hourly: fewer writes
    _store(cm_engine, "w-1", points, power_w=5000.0)
    october = _month(cm_engine, "2026-10")
    assert october["kwh"] == pytest.approx(3725.0, abs=0.01)
    assert october["resets_folded"] == 1
    assert october["estimated_kwh"] == pytest.approx(5.0 * 7 / 60, abs=0.01)  # 12:00 to 12:07 at 5 kW
    with cm_engine.connect() as conn:
        events = conn.execute(select(reading.c.read_at, reading.c.event).where(reading.c.event.is_not(None))).all()
    assert [(at.astimezone(UTC), event) for at, event in events] == [(utc(2026, 10, 15, 13), "reset")]


def test_rollover_rules_without_a_rating() -> None:
    """#8: without a rating the plausible power bounds a wrap; the 99 % guess stays only when nothing is known."""
    prev = CounterState(utc(2026, 10, 1), 999_990.0, 999_990.0, 0.0, rate_kw=5.0)
    later = utc(2026, 10, 1, 0, 15)
    default = CounterRules(rollover_kwh=999_999.9, default_max_kw=50.0)
    assert correct(prev, 2.0, later, default).event == "rollover"  # 11.9 kWh in 15 min: within 50 kW
    high = replace_state(prev, 990_500.0)
    assert correct(high, 1.0, later, default).event == "reset"  # a wrap would be 9,500 kWh in 15 min
    assert correct(high, 1.0, later, CounterRules(rollover_kwh=999_999.9)).event == "rollover"  # nothing known
    assert correct(replace_state(prev, 900_000.0), 1.0, later, CounterRules(rollover_kwh=999_999.9)).event == "reset"


def test_a_wrap_the_endpoints_own_peak_makes_plausible_is_a_rollover() -> None:
    """#8: a busy endpoint (its recent peak above the default) still folds a real wrap as a rollover."""
    prev = CounterState(utc(2026, 10, 1), 990.0, 990.0, 0.0, rate_kw=15.0)
    rules = CounterRules(rollover_kwh=1000.0, default_max_kw=5.0)  # a wrap of 15 kWh in 1 h: above 5 kW
    assert CounterWalk(prev, rules).read(5.0, utc(2026, 10, 1, 1)).event == "reset"  # type: ignore[union-attr]
    busy = CounterWalk(prev, rules, peak_kw=lambda at: 2.0)  # ten times 2 kW is plausible
    assert busy.read(5.0, utc(2026, 10, 1, 1)) == Corrected(1005.0, 1000.0, "rollover")


def replace_state(state: CounterState, raw_kwh: float) -> CounterState:
    """The same state at another raw value."""
    return CounterState(state.read_at, raw_kwh, raw_kwh, 0.0, state.rate_kw)


def test_reset_whose_first_reading_is_on_the_boundary_is_reported_in_the_month_holding_its_estimate(
        cm_engine: Engine) -> None:
    """#13 (s8): reset at 23:50 on 31 Oct (Berlin), first reading after it at 1 Nov 00:00: October's energy
    holds the estimate, so October reports the reset and the estimate, November neither."""
    add_endpoint(cm_engine, "a-1", rollover_kwh=10000.0, circuit_max_kw=5)
    start, reset_at = utc(2026, 9, 25, 23), utc(2026, 10, 31, 22, 50)
    points = [(at, round(500.0 + 2.0 * (at - start).total_seconds() / 3600 if at < reset_at
                         else 2.0 * (at - reset_at).total_seconds() / 3600, 6))
              for at in _steps(start, utc(2026, 12, 3), timedelta(hours=3))]  # 20:00, then 23:00 UTC on the boundary
    _store(cm_engine, "a-1", points, power_w=2000.0)
    october, november = _month(cm_engine, "2026-10"), _month(cm_engine, "2026-11")
    assert october["end_method"] == "exact" and november["start_method"] == "exact"
    assert (round(october["kwh"], 3), round(november["kwh"], 3)) == (1490.0, 1440.0)
    estimate = 2.0 * 170 / 60  # 20:00 to 22:50 UTC at 2 kW, not counted by the meter
    assert (october["resets_folded"], november["resets_folded"]) == (1, 0)
    assert october["estimated_kwh"] == pytest.approx(estimate, abs=0.001)
    assert november["estimated_kwh"] == pytest.approx(0.0, abs=0.001)
