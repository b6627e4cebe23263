"""The limits the pages label and tabulate: per sensor kind, with the unit people read (°C, %RH)."""

from __future__ import annotations

from pathlib import Path

from nxforge_modules.temperature_monitor.config import all_sensors, load_devices
from nxforge_modules.temperature_monitor.kinds import kind_label, level_status, measure, shown_unit
from nxforge_modules.temperature_monitor.queries import threshold_table, thresholds
from nxforge_modules.temperature_monitor.settings import TemperatureSettings

SETTINGS = TemperatureSettings.from_mapping({"failures_before_alert": 3, "default_hysteresis": 0.5,
                                             "default_min_duration": "1m"})
ROOM = """
groups:
  inlet: {high: {warning: 27, critical: 32}, hysteresis: 1}
  humidity: {high: {warning: 70}, low: {warning: 20, critical: 10}, hysteresis: 2}
devices:
  - id: bmc-r01
    location: Room A
    rack: R01
    scrape: {preset: bmc, url: "http://127.0.0.1:1/d/bmc-r01/"}
    sensors:
      - {id: r01-inlet, name: R01 inlet, kind: inlet, value: inlet_c}
      - {id: r01-cpu, name: R01 CPU, kind: cpu, value: cpu_c}
  - id: bmc-r02
    location: Room A
    rack: R02
    scrape: {preset: bmc, url: "http://127.0.0.1:1/d/bmc-r02/"}
    sensors:
      - {id: r02-inlet, name: R02 inlet, kind: inlet, value: inlet_c}
      - {id: r02-inlet-top, name: R02 inlet top, kind: inlet, value: exhaust_c, thresholds: {high: {warning: 29}}}
  - id: env-a
    location: Room A
    scrape: {preset: envprobe, url: "http://127.0.0.1:1/d/env-a/"}
    sensors:
      - {id: room-a-rh, name: Room A RH, kind: humidity, value: humidity_pct}
"""


def _sensors(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "room-a.yaml").write_text(ROOM)
    devices, problems = load_devices(tmp_path, SETTINGS)
    assert problems == []
    return all_sensors(devices)


def test_thresholds_name_the_kind_and_the_unit_people_read(tmp_path: Path) -> None:
    limits = thresholds(_sensors(tmp_path))
    humidity = limits.filter(limits["sensor_id"] == "room-a-rh")
    assert set(humidity["unit"]) == {"%RH"} and set(humidity["kind"]) == {"humidity"}
    assert sorted(zip(humidity["direction"], humidity["level"], humidity["limit"], strict=True)) == [
        ("high", "warning", 70.0), ("low", "critical", 10.0), ("low", "warning", 20.0)]
    assert set(limits.filter(limits["sensor_id"] == "r01-inlet")["unit"]) == {"°C"}
    assert limits.filter(limits["sensor_id"] == "r01-cpu").is_empty()


def test_threshold_table_has_one_row_per_kind_and_set_of_limits(tmp_path: Path) -> None:
    table = threshold_table(_sensors(tmp_path))
    rows = [(r["kind"], r["unit"], r["sensors"], r["high_warning"], r["high_critical"], r["low_warning"],
             r["low_critical"], r["hysteresis"], r["min_duration_s"]) for r in table.iter_rows(named=True)]
    assert rows == [
        ("inlet", "°C", "R01 inlet, R02 inlet", 27.0, 32.0, None, None, 1.0, 60.0),
        ("cpu", "°C", "R01 CPU", None, None, None, None, 0.5, 60.0),
        ("inlet", "°C", "R02 inlet top", 29.0, 32.0, None, None, 1.0, 60.0),
        ("humidity", "%RH", "Room A RH", 70.0, None, 20.0, 10.0, 2.0, 60.0),
    ]
    assert threshold_table([]).is_empty() and threshold_table([]).columns == table.columns


def test_kinds_read_as_people_say_them() -> None:
    assert [kind_label(k) for k in ("inlet", "cpu", "humidity", "freezer")] == [
        "Inlet temperature", "CPU temperature", "Humidity", "freezer"]
    assert (shown_unit("humidity", "%"), shown_unit("inlet", "°C"), shown_unit("inlet", None)) == ("%RH", "°C", "°C")
    assert (measure("humidity"), measure("exhaust")) == ("humidity", "temperature")
    assert [level_status(x) for x in ("ok", "warning", "critical", None)] == ["ok", "warning", "alarm", "unknown"]
