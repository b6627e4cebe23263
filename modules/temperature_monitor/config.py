"""The sensor YAML (``config/temperature-monitor/*.yaml``): devices to scrape, their sensors, thresholds.

One scrape per device reads all its sensors (a BMC page lists inlet, exhaust and CPU at once).
Thresholds come from the sensor, else its group (``group:``, or the group named like its kind),
else nothing: a sensor without limits is recorded and charted but never alerts.

```yaml
groups:
  inlet: {high: {warning: 27, critical: 32}, hysteresis: 1, min_duration: 2m}
devices:
  - id: bmc-r01
    location: Room A
    rack: R01
    scrape: {preset: bmc, url: "http://bmc-r01.example/"}
    sensors:
      - {id: r01-inlet, name: R01 inlet, kind: inlet, value: inlet_c}
```
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nxforge.sdk import ConfigError, ConfigProblem, ScrapeConfig, parse_duration, validate_file

from .settings import TemperatureSettings

log = logging.getLogger(__name__)

Kind = Literal["inlet", "exhaust", "cpu", "ambient", "humidity"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(_Strict):
    """The warning and critical limit on one side (high or low)."""

    warning: float | None = None
    critical: float | None = None


class Thresholds(_Strict):
    """Limits on both sides, the hysteresis to clear them, and how long a crossing must last."""

    high: Limits | None = None
    low: Limits | None = None
    hysteresis: float | None = Field(default=None, ge=0)
    min_duration: str | float | None = None

    @field_validator("min_duration")
    @classmethod
    def _duration(cls, value: str | float | None) -> str | float | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        high, low = self.high, self.low
        if high and high.warning is not None and high.critical is not None and high.critical < high.warning:
            raise ValueError("high.critical must be at or above high.warning")
        if low and low.warning is not None and low.critical is not None and low.critical > low.warning:
            raise ValueError("low.critical must be at or below low.warning")
        return self

    def over(self, base: Thresholds | None) -> Thresholds:
        """These thresholds with anything unset taken from ``base`` (field by field)."""
        if base is None:
            return self
        merged: dict[str, Any] = base.model_dump()
        for key, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return Thresholds.model_validate(merged)


class Sensor(_Strict):
    """One physical sensor: which value of its device's scrape it is, and where it sits."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    kind: Kind
    value: str = Field(description="the name of a value in the device's scrape config")
    location: str | None = None
    rack: str | None = None
    group: str | None = None
    thresholds: Thresholds | None = None


class Device(_Strict):
    """A BMC, a probe ...: one scrape that reads the values of all its sensors."""

    id: str = Field(pattern=ID_PATTERN)
    location: str
    rack: str | None = None
    scrape: ScrapeConfig
    sensors: list[Sensor] = Field(min_length=1)

    @model_validator(mode="after")
    def _values_exist(self) -> Device:
        for index, sensor in enumerate(self.sensors):
            if sensor.value not in self.scrape.values:
                known = ", ".join(sorted(self.scrape.values))
                raise ValueError(f"sensors.{index}: value {sensor.value!r} is not read by the scrape; it reads {known}")
        return self


class SensorFile(_Strict):
    """One YAML file of the module's folder."""

    groups: dict[str, Thresholds] = Field(default_factory=dict)
    devices: list[Device] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> SensorFile:
        seen: set[str] = set()
        for device in self.devices:
            for sensor in device.sensors:
                if sensor.id in seen:
                    raise ValueError(f"sensor id {sensor.id!r} is used twice")
                seen.add(sensor.id)
                if sensor.group is not None and sensor.group not in self.groups:
                    raise ValueError(f"sensor {sensor.id!r}: unknown group {sensor.group!r}")
        return self


@dataclass(frozen=True)
class Rule:
    """The effective limits of one sensor, every default applied."""

    high_warning: float | None
    high_critical: float | None
    low_warning: float | None
    low_critical: float | None
    hysteresis: float
    min_duration_s: float

    def limit(self, direction: str, level: str) -> float | None:
        """The limit for ``direction`` (high/low) at ``level`` (warning/critical)."""
        value: float | None = getattr(self, f"{direction}_{level}")
        return value


@dataclass(frozen=True)
class SensorInfo:
    """A configured sensor as the job and the pages use it."""

    id: str
    name: str
    kind: str
    unit: str
    device_id: str
    value_name: str
    location: str
    rack: str
    rule: Rule


@dataclass(frozen=True)
class DeviceInfo:
    """A configured device and its sensors."""

    id: str
    scrape: ScrapeConfig
    sensors: tuple[SensorInfo, ...]


def _rule(thresholds: Thresholds | None, hysteresis: float, min_duration_s: float) -> Rule:
    t = thresholds or Thresholds()
    high, low = t.high or Limits(), t.low or Limits()
    return Rule(
        high.warning, high.critical, low.warning, low.critical,
        t.hysteresis if t.hysteresis is not None else hysteresis,
        parse_duration(t.min_duration) if t.min_duration is not None else min_duration_s,
    )


def resolve_file(parsed: SensorFile, settings: TemperatureSettings) -> list[DeviceInfo]:
    """Devices of one file with each sensor's thresholds merged from its group and the defaults."""
    hysteresis = settings.default_hysteresis
    min_duration_s = settings.default_min_duration_s
    devices = []
    for device in parsed.devices:
        sensors = []
        for sensor in device.sensors:
            group = parsed.groups.get(sensor.group or sensor.kind)
            thresholds = sensor.thresholds.over(group) if sensor.thresholds else group
            spec = device.scrape.values[sensor.value]
            sensors.append(SensorInfo(
                id=sensor.id, name=sensor.name, kind=sensor.kind,
                unit=spec.unit or ("%" if sensor.kind == "humidity" else "°C"),
                device_id=device.id, value_name=sensor.value,
                location=sensor.location or device.location, rack=sensor.rack or device.rack or "",
                rule=_rule(thresholds, hysteresis, min_duration_s),
            ))
        devices.append(DeviceInfo(device.id, device.scrape, tuple(sensors)))
    return devices


def load_devices(config_dir: Path, settings: TemperatureSettings) -> tuple[list[DeviceInfo], list[ConfigProblem]]:
    """Every valid file's devices; a broken file is reported and skipped, never stops the others."""
    devices: list[DeviceInfo] = []
    problems: list[ConfigProblem] = []
    seen_sensors: set[str] = set()
    seen_devices: set[str] = set()
    for path in sorted(config_dir.glob("*.yaml")) if config_dir.is_dir() else []:
        try:
            parsed = validate_file(path, SensorFile)
        except ConfigError as exc:
            problems += exc.problems
            continue
        for device in resolve_file(parsed, settings):
            clash = [s.id for s in device.sensors if s.id in seen_sensors]
            if device.id in seen_devices or clash:
                what = f"device {device.id!r}" if device.id in seen_devices else f"sensor(s) {', '.join(clash)}"
                problems.append(ConfigProblem(path, None, "devices", f"{what} already defined in another file"))
                continue
            seen_devices.add(device.id)
            seen_sensors.update(s.id for s in device.sensors)
            devices.append(device)
    for problem in problems:
        log.error("%s", problem)
    return devices, problems


def all_sensors(devices: list[DeviceInfo]) -> list[SensorInfo]:
    """Sensors of every device, in config order."""
    return [sensor for device in devices for sensor in device.sensors]
