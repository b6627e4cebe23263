"""Energy per period, power over time, derived live power and rack loads, against figures computed here."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from nxforge_modules.consumption_monitor.energy_queries import (
    energy_per_period,
    period_window,
    power_series,
    stack_energy,
)
from nxforge_modules.consumption_monitor.loads import rack_loads, split_location
from nxforge_modules.consumption_monitor.queries import live_status
from sqlalchemy import Engine

from .conftest import add_endpoint, utc, write

PARIS = ZoneInfo("Europe/Paris")


def _counter(rise_kwh: float, base: float = 1000.0) -> float:
    return round(base + rise_kwh, 3)


def test_period_windows_are_local_calendar_periods() -> None:
    anchor = utc(2026, 3, 29, 12)  # the day the clocks go forward in Paris
    start, end = period_window(anchor, "hour", PARIS)
    assert (start, end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert (end - start) == timedelta(hours=23)
    assert period_window(anchor, "hour", PARIS, -1) == (utc(2026, 3, 27, 23), utc(2026, 3, 28, 23))
    assert period_window(anchor, "day", PARIS) == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22))
    assert period_window(anchor, "day", PARIS, -3) == (utc(2025, 11, 30, 23), utc(2025, 12, 31, 23))
    assert period_window(anchor, "month", PARIS) == (utc(2025, 12, 31, 23), utc(2026, 12, 31, 23))
    start, end = period_window(anchor, "week", PARIS)
    assert start.astimezone(PARIS).weekday() == 0 and end.astimezone(PARIS).weekday() == 0
    assert start.astimezone(PARIS) <= anchor.astimezone(PARIS) < end.astimezone(PARIS)
    assert (end.astimezone(PARIS).date() - start.astimezone(PARIS).date()).days == 91


def test_energy_per_day_and_hour_equal_counter_differences(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "e1", feed="A", circuit_max_kw=10)
    add_endpoint(cm_engine, "e2", client="globex", feed="B", circuit_max_kw=10)
    t0 = utc(2026, 3, 27, 20)
    times = [t0 + timedelta(hours=h) for h in range(72)]
    counters = {"e1": {}, "e2": {}}
    for h, at in enumerate(times):
        kw1 = 2.0 if h < 30 else 3.5
        counters["e1"][at] = _counter(h * 2.0 if h < 30 else 60.0 + (h - 30) * 3.5)
        counters["e2"][at] = _counter(h * 1.25, base=5000.0)
        write(cm_engine, "e1", at, counters["e1"][at], power_w=kw1 * 1000)
        if h != 40:  # one missing reading: a gap in e2
            write(cm_engine, "e2", at, counters["e2"][at])
    counters["e2"].pop(times[40])
    start, end = utc(2026, 3, 27, 23), utc(2026, 3, 30, 22)  # three Paris days, the middle one 23 hours
    energy = energy_per_period(cm_engine, ["e1", "e2"], start, end, "day", PARIS)

    def expected(endpoint_id: str) -> dict[datetime, float]:
        """C(last reading in the day) - C(last reading before the day), days in Paris time."""
        series = sorted(counters[endpoint_id].items())
        result: dict[datetime, float] = {}
        for day_start, day_end in [(utc(2026, 3, 27, 23), utc(2026, 3, 28, 23)),
                                   (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
                                   (utc(2026, 3, 29, 22), utc(2026, 3, 30, 22))]:
            inside = [c for at, c in series if day_start <= at < day_end]
            before = [c for at, c in series if at < day_start]
            result[day_start] = inside[-1] - before[-1]
        return result

    for endpoint_id in ("e1", "e2"):
        got = {r["period_start"]: r["kwh"] for r in energy.filter(pl.col("endpoint_id") == endpoint_id)
               .iter_rows(named=True)}
        assert got == pytest.approx(expected(endpoint_id))
        assert all(kwh > 20 for kwh in got.values())
    e2 = energy.filter(pl.col("endpoint_id") == "e2").sort("period_start")
    # the 23-hour day less the missing hour; the last day ends with the readings at 19:00 UTC
    assert e2["hours_read"].to_list() == [24, 22, 22]
    hours = energy_per_period(cm_engine, ["e1"], utc(2026, 3, 29, 0), utc(2026, 3, 29, 4), "hour", PARIS)
    assert hours["kwh"].to_list() == pytest.approx([2.0, 2.0, 2.0, 3.5])  # the draw steps up at 02:00 UTC
    by_client = stack_energy(energy, live_status(cm_engine, end, 3600.0), "client")
    assert set(by_client["group"]) == {"acme", "globex"}
    assert by_client["kwh"].sum() == pytest.approx(energy["kwh"].sum())
    assert energy_per_period(cm_engine, ["e1"], utc(2025, 1, 1), utc(2025, 2, 1), "month", PARIS).is_empty()


def test_power_is_read_where_given_and_derived_otherwise(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "m", circuit_max_kw=11)
    add_endpoint(cm_engine, "d", circuit_max_kw=11)
    t0 = utc(2026, 4, 1)
    for step in range(5):
        at = t0 + timedelta(minutes=15 * step)
        write(cm_engine, "m", at, 100.0 + step, power_w=4000.0)
        write(cm_engine, "d", at, 200.0 + 0.75 * step)  # 0.75 kWh per 15 min = 3 kW
    series = power_series(cm_engine, ["m", "d"], t0, t0 + timedelta(hours=2))
    meter = series.filter(pl.col("endpoint_id") == "m")
    assert meter["kw"].to_list() == [4.0] * 5 and set(meter["source"]) == {"meter"}
    derived = series.filter(pl.col("endpoint_id") == "d")
    assert derived["kw"].to_list() == pytest.approx([3.0] * 4) and set(derived["source"]) == {"derived"}
    live = live_status(cm_engine, t0 + timedelta(hours=1), 3600.0).sort("endpoint_id")
    assert live["power_w"].to_list() == pytest.approx([3000.0, 4000.0])
    assert live["power_source"].to_list() == ["derived", "meter"]
    assert live["circuit_max_kw"].to_list() == [11.0, 11.0]


def test_derived_power_is_averaged_over_a_demand_interval_not_one_step(cm_engine: Engine) -> None:
    """A counter shown to 0.05 kWh, read every minute at 1.5 kW, rises 0.05 kWh one minute in two: from
    consecutive readings power would jump between 0 and 3 kW (and flag racks as over a feed's rating)."""
    add_endpoint(cm_engine, "coarse", circuit_max_kw=2)
    t0 = utc(2026, 4, 1)
    true_kwh = 500.0
    for minute in range(61):
        write(cm_engine, "coarse", t0 + timedelta(minutes=minute), math.floor((true_kwh + 0.025 * minute) * 20) / 20)
    step_kw = 0.05 / 0.25  # one step of the counter over the 15-minute window: the most a derived power is off
    live = live_status(cm_engine, t0 + timedelta(minutes=61), 3600.0)
    assert abs(live["power_w"][0] / 1000 - 1.5) <= step_kw + 1e-9 and live["power_source"][0] == "derived"
    series = power_series(cm_engine, ["coarse"], t0, t0 + timedelta(hours=2))
    assert series["at"].min() >= t0 + timedelta(minutes=15)  # no reading 15 minutes before: no derived power
    assert series.height == 46 and all(abs(kw - 1.5) <= step_kw + 1e-9 for kw in series["kw"])
    assert series["kw"].mean() == pytest.approx(1.5, abs=0.02)


def test_rack_loads_put_feeds_side_by_side_and_flag_the_ab_check() -> None:
    live = pl.DataFrame({
        "endpoint_id": ["r1a", "r1b", "r2a", "r2b", "r3a"],
        "location": ["Room 1 / Row A / Rack 01"] * 2 + ["Room 1 / Row A / Rack 02"] * 2 + ["Room 2 / Rack 09"],
        "feed": ["A", "B", "A", "B", "A"],
        "power_w": [3000.0, 2500.0, 6000.0, 5500.0, None],
        "circuit_max_kw": [10.0, 10.0, 11.0, 10.0, 8.0],
    })
    racks = rack_loads(live, warn_pct=50.0, alarm_pct=90.0)
    rows = {r["rack"]: r for r in racks.iter_rows(named=True)}
    assert rows["Rack 01"]["total_kw"] == pytest.approx(5.5)
    assert rows["Rack 01"]["ab_load_pct"] == pytest.approx(55.0) and not rows["Rack 01"]["ab_flag"]
    assert rows["Rack 01"]["level"] == "warning"
    assert rows["Rack 02"]["ab_load_pct"] == pytest.approx(115.0) and rows["Rack 02"]["ab_flag"]
    assert rows["Rack 02"]["a_load_pct"] == pytest.approx(6 / 11 * 100) and rows["Rack 02"]["level"] == "alarm"
    assert rows["Rack 09"]["room"] == "Room 2" and rows["Rack 09"]["level"] == "unknown"
    assert rows["Rack 09"]["ab_flag"] is False
    assert split_location("Room 1 / Row B / Rack 07") == ("Room 1", "Row B", "Rack 07")
    assert split_location(None) == ("", "", "")


def test_live_status_without_power_on_the_meter_or_a_second_reading(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "one")
    write(cm_engine, "one", utc(2026, 4, 1), 10.0)
    row = live_status(cm_engine, utc(2026, 4, 1, 0, 5), 3600.0).row(0, named=True)
    assert row["power_w"] is None and row["power_source"] is None
    assert UTC  # the module's instants are UTC
