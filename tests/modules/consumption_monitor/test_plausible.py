"""Without a circuit rating, a rise implying more than a plausible power is held for review, not billed.

Measured before (issue 13): an unrecorded meter swap (a new meter starting at 20,000 kWh) on an
endpoint without ``circuit_max_kw`` was billed as 11,919.8 kWh in 15 minutes.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from nxforge_modules.consumption_monitor.counters import CounterRules, CounterState, correct, peak_power_kw
from nxforge_modules.consumption_monitor.settings import MonitorSettings
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import Engine, select, update

from nxforge.module_system.discovery import read_module
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import add_endpoint, utc, write

T0 = utc(2026, 10, 12, 8)
QUARTER = timedelta(minutes=15)


def manifest_default_max_kw() -> float | None:
    """The plausible power the module uses when nxforge.yaml says nothing (the manifest's default)."""
    info = read_module(MODULES_DIR / "consumption_monitor")
    assert info.manifest is not None, info.error
    context = SimpleNamespace(settings=info.manifest.defaults(), timezone=ZoneInfo("Europe/Berlin"))
    return MonitorSettings.from_context(context).default_max_kw  # type: ignore[arg-type]


def unrated(engine: Engine, endpoint_id: str) -> None:
    """An endpoint without circuit_max_kw, synced with the module's default plausible power."""
    add_endpoint(engine, endpoint_id, circuit_max_kw=None)
    with engine.begin() as conn:
        conn.execute(update(endpoint).where(endpoint.c.id == endpoint_id)
                     .values(default_max_kw=manifest_default_max_kw()))


def stored(engine: Engine, endpoint_id: str) -> list[tuple[float | None, float | None, str | None]]:
    with engine.connect() as conn:
        return [(r.raw_kwh, r.corrected_kwh, r.event) for r in conn.execute(
            select(reading.c.raw_kwh, reading.c.corrected_kwh, reading.c.event)
            .where(reading.c.endpoint_id == endpoint_id).order_by(reading.c.read_at))]


def test_the_manifest_default_is_50_kw() -> None:
    assert manifest_default_max_kw() == 50.0


def test_unrecorded_swap_on_unrated_endpoint_is_held_not_billed(cm_engine: Engine) -> None:
    unrated(cm_engine, "rack7")
    for k in range(5):  # 2 kW
        write(cm_engine, "rack7", T0 + k * QUARTER, 8078.2 + 0.5 * k)
    write(cm_engine, "rack7", T0 + 5 * QUARTER, 20000.0)  # the new meter, nobody recorded the swap
    write(cm_engine, "rack7", T0 + 6 * QUARTER, 20000.5)
    rows = stored(cm_engine, "rack7")
    assert rows[4][1] == pytest.approx(8080.2)
    assert rows[5:] == [(20000.0, None, "implausible"), (20000.5, None, "implausible")]
    usable = [corrected for _, corrected, _ in rows if corrected is not None]
    assert usable[-1] - usable[0] == pytest.approx(2.0)  # what was measured; not 11,919.8 kWh more


def test_a_rise_within_the_default_is_billed(cm_engine: Engine) -> None:
    unrated(cm_engine, "rack8")
    write(cm_engine, "rack8", T0, 100.0)
    write(cm_engine, "rack8", T0 + QUARTER, 110.0)  # 40 kW for 15 minutes: under 50 kW
    assert stored(cm_engine, "rack8")[-1] == (110.0, 110.0, None)


def test_the_endpoints_own_peak_lifts_the_default(cm_engine: Engine) -> None:
    unrated(cm_engine, "busy")
    for k in range(9):  # 8 kW for two hours: ten times that (80 kW) is plausible here
        write(cm_engine, "busy", T0 + k * QUARTER, 1000.0 + 2.0 * k)
    write(cm_engine, "busy", T0 + 9 * QUARTER, 1016.0 + 17.5)  # 70 kW: over the default, under 10 x peak
    write(cm_engine, "busy", T0 + 10 * QUARTER, 1033.5 + 300.0)  # 1.2 MW: over ten times even that 70 kW (x 1.2)
    rows = stored(cm_engine, "busy")
    assert rows[-2] == (1033.5, pytest.approx(1033.5), None)
    assert rows[-1] == (1333.5, None, "implausible")


def test_an_idle_endpoints_peak_never_lowers_the_default(cm_engine: Engine) -> None:
    unrated(cm_engine, "idle")
    for k in range(5):  # 0.4 kW for an hour, then a client powers up 30 kW of servers
        write(cm_engine, "idle", T0 + k * QUARTER, 10.0 + 0.1 * k)
    write(cm_engine, "idle", T0 + 5 * QUARTER, 10.4 + 7.5)
    assert stored(cm_engine, "idle")[-1] == (17.9, pytest.approx(17.9), None)


def test_correct_uses_rating_then_default_then_history() -> None:
    last = CounterState(T0, 8080.2, 8080.2, 0.0)
    later = T0 + QUARTER
    assert correct(last, 20000.0, later, CounterRules()).event is None  # no rating, no default: anything goes
    assert correct(last, 20000.0, later, CounterRules(default_max_kw=50.0)).event == "implausible"
    assert correct(last, 8090.0, later, CounterRules(default_max_kw=50.0)).event is None
    assert correct(last, 8105.0, later, CounterRules(default_max_kw=50.0)).event == "implausible"  # 99 kW
    assert correct(last, 8105.0, later, CounterRules(default_max_kw=50.0, peak_kw=10.0)).event is None
    assert correct(last, 8105.0, later, CounterRules(circuit_max_kw=10.0, default_max_kw=500.0)).event == \
        "implausible"  # a rating wins over the default


def test_peak_power_is_over_windows_of_15_minutes() -> None:
    minute = timedelta(minutes=1)
    readings = [(T0 + k * minute, float(k)) for k in range(31)]  # 60 kW steadily ...
    readings[20] = (T0 + 20 * minute, 20.5)  # ... with a wobble that a 1-minute window would call 90 kW
    assert peak_power_kw(readings) == pytest.approx(62.0)  # 15.5 kWh in [5, 20] min
    assert peak_power_kw(readings[:10]) is None  # less than 15 minutes of readings
