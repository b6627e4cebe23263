"""The demo hook writes five weeks of sensor history (SQLite and PostgreSQL): enough for the Trends page to
show days and weeks of curves, with one cooling failure that the alert rules saw, and never twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import yaml
from sqlalchemy import func, select

from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.contract import ModuleContext
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from tests.modules.conftest import MODULES_DIR

NOW = datetime(2026, 3, 20, 9, 7, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
STEPS = 35 * 48  # 35 days of half-hourly readings


@pytest.fixture
def demo_ctx(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleContext, Simulator]]:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    env = Environment.from_environ()
    env.core_config_path.write_text(yaml.safe_dump({"site_name": "Demo", "timezone": "Europe/Paris"}))
    specs = [DeviceSpec("bmc-r01", "bmc", temperature_c=21.0), DeviceSpec("probe-r01", "envprobe", temperature_c=22.0)]
    with Simulator(specs, clock=SimClock(start=NOW, frozen=True)) as sim:
        platform = Platform(env, clock=lambda: NOW)
        try:
            enable_module(platform, "temperature-monitor", "test")
            yield platform.context("temperature-monitor"), sim
        finally:
            platform.close()


def test_demo_writes_weeks_of_history_once_with_the_cooling_failure_alerted(
    demo_ctx: tuple[ModuleContext, Simulator],
) -> None:
    from nxforge_modules.temperature_monitor.config import all_sensors, load_devices
    from nxforge_modules.temperature_monitor.demo import failure_window, write_demo_config
    from nxforge_modules.temperature_monitor.queries import alert_history, current_state, trend, trend_export
    from nxforge_modules.temperature_monitor.settings import TemperatureSettings
    from nxforge_modules.temperature_monitor.tables import readings

    ctx, sim = demo_ctx
    write_demo_config(ctx, sim)
    sensors = all_sensors(load_devices(ctx.config_dir, TemperatureSettings.from_context(ctx))[0])
    assert [s.id for s in sensors] == ["bmc-r01-inlet", "bmc-r01-exhaust", "bmc-r01-cpu", "probe-r01-ambient",
                                       "probe-r01-humidity"]
    series = trend(ctx.db, [s.id for s in sensors], NOW - timedelta(days=40), NOW)
    per_sensor = dict(series.group_by("sensor_id").len().iter_rows())
    assert per_sensor == {s.id: STEPS for s in sensors}
    inlet = series.filter(pl.col("sensor_id") == "bmc-r01-inlet")
    first, last = inlet["at"].min(), inlet["at"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    assert last < NOW and last - first == timedelta(days=35) - timedelta(minutes=30)
    # a daily cycle around the simulator's value: warmest in the afternoon, site time
    quiet = inlet.filter(pl.col("at") < NOW - timedelta(days=12))
    assert 18.0 < float(quiet["value"].min()) < 21.0 < float(quiet["value"].max()) < 24.0  # type: ignore[arg-type]
    by_hour = quiet.with_columns(pl.col("at").dt.convert_time_zone("Europe/Paris").dt.hour().alias("hour"))
    means = dict(by_hour.group_by("hour").agg(pl.col("value").mean()).iter_rows())
    assert means[15] > means[3] + 2
    humidity = series.filter(pl.col("sensor_id") == "probe-r01-humidity")["value"]
    assert 30 < float(humidity.min()) < float(humidity.max()) < 60  # type: ignore[arg-type]
    # the cooling failure crossed the inlet warning limit (27 °C) and the alert rules saw it come and go
    start, end = failure_window(NOW, PARIS)
    assert start.astimezone(PARIS).hour == 14 and (NOW - start).days == 8
    hot = inlet.filter((pl.col("at") >= start.astimezone(UTC)) & (pl.col("at") < end.astimezone(UTC)))
    assert hot.height == 4 and float(hot["value"].min()) >= 27  # type: ignore[arg-type]
    history = alert_history(ctx.db)
    inlet_alerts = history.filter(pl.col("sensor_id") == "bmc-r01-inlet").sort("at")
    assert inlet_alerts["transition"].to_list() == ["raised", "recovered"]
    assert start < inlet_alerts["at"][0] < end <= inlet_alerts["at"][1]
    assert "R01 inlet" in inlet_alerts["message"][0]
    assert set(history["sensor_id"]) <= {"bmc-r01-inlet", "bmc-r01-exhaust"}
    # the Current page opens on the last history value, every sensor ok
    current = current_state(ctx.db, sensors)
    assert set(current["level"]) == {"ok"} and current["value"].null_count() == 0
    # the CSV download: the site's time with its offset, names, kinds and the unit people read
    export = trend_export(series, sensors, PARIS)
    assert export.columns == ["time (Europe/Paris)", "sensor_id", "sensor", "kind", "value", "unit"]
    assert export.height == series.height
    first_row = export.row(0, named=True)
    assert first_row["time (Europe/Paris)"] == first.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    humid = export.filter(pl.col("sensor_id") == "probe-r01-humidity").row(0, named=True)
    assert (humid["sensor"], humid["kind"], humid["unit"]) == ("R01 humidity", "humidity", "%RH")
    # the hook again, and again without its file: the history is never written twice
    write_demo_config(ctx, sim)
    (ctx.config_dir / "demo.yaml").unlink()
    write_demo_config(ctx, sim)
    with ctx.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(readings)).scalar_one() == STEPS * len(sensors)
