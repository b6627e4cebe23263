"""Consumption alerts: unreadable after N failures, implausible readings, a counter at its ceiling, month-to-date."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from nxforge_modules.consumption_monitor.alerts import AlertRules, evaluate_alerts
from sqlalchemy import Engine

from nxforge.module_system.contract import ModuleContext
from tests.modules.consumption_monitor.conftest import add_endpoint, utc, write

PARIS = ZoneInfo("Europe/Paris")


class Recorder:
    """Stands in for the context's event emitter: keeps (kind, key) of what was emitted."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, str]] = []

    def __call__(self, kind: str, message: str, severity: str = "info", data: dict[str, Any] | None = None) -> None:
        self.emitted.append((kind, (data or {})["key"]))


def context(engine: Engine, storage: Path, recorder: Recorder) -> ModuleContext:
    return cast(ModuleContext, SimpleNamespace(db=engine, storage=storage, emit=recorder))


def test_unreadable_raised_once_after_n_failures_then_resolved(cm_engine: Engine, tmp_path: Path) -> None:
    add_endpoint(cm_engine, "rack1")
    recorder = Recorder()
    ctx = context(cm_engine, tmp_path, recorder)
    rules = AlertRules(failures_before_alert=3, threshold_kwh=0.0)
    write(cm_engine, "rack1", utc(2026, 3, 1, 0), 100.0)
    for hour, raw in enumerate([None, None, None, None], start=1):
        write(cm_engine, "rack1", utc(2026, 3, 1, hour), raw)
        evaluate_alerts(ctx, ["rack1"], rules, utc(2026, 3, 1, hour), PARIS)
    assert recorder.emitted == [("alert.raised", "endpoint:rack1:unreadable")]
    write(cm_engine, "rack1", utc(2026, 3, 1, 6), 106.0)
    assert evaluate_alerts(ctx, ["rack1"], rules, utc(2026, 3, 1, 6), PARIS) == set()
    assert recorder.emitted[-1] == ("alert.resolved", "endpoint:rack1:unreadable")


def test_implausible_and_month_to_date(cm_engine: Engine, tmp_path: Path) -> None:
    add_endpoint(cm_engine, "rack2", circuit_max_kw=5.0)
    recorder = Recorder()
    ctx = context(cm_engine, tmp_path, recorder)
    rules = AlertRules(failures_before_alert=3, threshold_kwh=7.0)
    write(cm_engine, "rack2", utc(2026, 3, 1, 0), 1000.0)
    write(cm_engine, "rack2", utc(2026, 3, 1, 1), 1004.0)
    # The month began at 23:00 UTC, an hour before the first reading: nothing is invented before it,
    # so 4 kWh to date: under the limit.
    assert evaluate_alerts(ctx, ["rack2"], rules, utc(2026, 3, 1, 1), PARIS) == set()
    write(cm_engine, "rack2", utc(2026, 3, 1, 2), 9000.0)  # 8 MW for an hour on a 5 kW circuit
    # The implausible reading is left out: 8 kWh to date (the last good reading, extrapolated for the
    # hour since it at 4 kWh an hour), now over the limit too.
    open_keys = evaluate_alerts(ctx, ["rack2"], rules, utc(2026, 3, 1, 2), PARIS)
    assert open_keys == {"endpoint:rack2:implausible", "endpoint:rack2:mtd"}
    write(cm_engine, "rack2", utc(2026, 3, 1, 3), 1009.0)
    assert evaluate_alerts(ctx, ["rack2"], rules, utc(2026, 3, 1, 3), PARIS) == {"endpoint:rack2:mtd"}
    assert recorder.emitted == [
        ("alert.raised", "endpoint:rack2:implausible"),
        ("alert.raised", "endpoint:rack2:mtd"),
        ("alert.resolved", "endpoint:rack2:implausible"),
    ]


def test_a_counter_at_its_ceiling_is_an_open_alert_until_it_is_reset(cm_engine: Engine, tmp_path: Path) -> None:
    add_endpoint(cm_engine, "rack3", rollover_kwh=None)
    recorder = Recorder()
    ctx = context(cm_engine, tmp_path, recorder)
    rules = AlertRules(failures_before_alert=3, threshold_kwh=0.0)
    write(cm_engine, "rack3", utc(2026, 3, 1, 0), 9998.0, ceiling_kwh=9999.0)
    assert evaluate_alerts(ctx, ["rack3"], rules, utc(2026, 3, 1, 0), PARIS) == set()
    for hour in (1, 2, 3):  # stuck at the ceiling: one alert for the whole stretch
        write(cm_engine, "rack3", utc(2026, 3, 1, hour), 9999.0, ceiling_kwh=9999.0)
        assert evaluate_alerts(ctx, ["rack3"], rules, utc(2026, 3, 1, hour), PARIS) == {"endpoint:rack3:ceiling"}
    write(cm_engine, "rack3", utc(2026, 3, 1, 4), 0.5, ceiling_kwh=9999.0)  # reset on the device
    assert evaluate_alerts(ctx, ["rack3"], rules, utc(2026, 3, 1, 4), PARIS) == set()
    assert recorder.emitted == [("alert.raised", "endpoint:rack3:ceiling"),
                                ("alert.resolved", "endpoint:rack3:ceiling")]
