"""Sensor YAML: group thresholds merged into sensors, problems reported with file:line."""

from __future__ import annotations

from pathlib import Path

from nxforge_modules.temperature_monitor.config import all_sensors, load_devices
from nxforge_modules.temperature_monitor.settings import TemperatureSettings

SETTINGS = TemperatureSettings.from_mapping({"failures_before_alert": 3, "default_hysteresis": 0.5,
                                             "default_min_duration": "1m"})

GOOD = """
groups:
  inlet: {high: {warning: 27, critical: 32}, hysteresis: 1}
  hot-aisle: {high: {warning: 45}}
devices:
  - id: bmc-r01
    location: Room A
    rack: R01
    scrape: {preset: bmc, url: "http://127.0.0.1:1/d/bmc-r01/"}
    sensors:
      - {id: r01-inlet, name: R01 inlet, kind: inlet, value: inlet_c, thresholds: {high: {critical: 30}}}
      - {id: r01-exhaust, name: R01 exhaust, kind: exhaust, value: exhaust_c, group: hot-aisle}
      - {id: r01-cpu, name: R01 CPU, kind: cpu, value: cpu_c}
"""


def test_group_and_sensor_thresholds_merge(tmp_path: Path) -> None:
    (tmp_path / "room-a.yaml").write_text(GOOD)
    devices, problems = load_devices(tmp_path, SETTINGS)
    assert problems == []
    sensors = {s.id: s for s in all_sensors(devices)}
    inlet = sensors["r01-inlet"].rule
    assert (inlet.high_warning, inlet.high_critical, inlet.hysteresis, inlet.min_duration_s) == (27, 30, 1, 60)
    assert sensors["r01-exhaust"].rule.high_warning == 45 and sensors["r01-exhaust"].rule.hysteresis == 0.5
    assert sensors["r01-cpu"].rule.high_warning is None
    assert sensors["r01-inlet"].unit == "°C" and sensors["r01-inlet"].rack == "R01"


def test_a_broken_file_is_reported_and_the_others_load(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("bmc-r01", "bmc-r02").replace("value: cpu_c", "value: gpu_c")
                                     .replace("r01-", "r02-"))
    devices, problems = load_devices(tmp_path, SETTINGS)
    assert [d.id for d in devices] == ["bmc-r01"]
    assert len(problems) == 1 and "b.yaml:6: devices.0" in str(problems[0]) and "gpu_c" in str(problems[0])
