"""The ``demo`` hook: sensors for every BMC and probe the demo's simulator runs, and five weeks of history.

A demo with minutes of data shows flat, short trends, so the hook also writes past readings every
30 minutes: each sensor's simulated value with a daily cycle (warmest mid-afternoon, site time),
a slow weekly drift and a little deterministic noise, plus one two-hour cooling failure on the
first BMC's rack nine days ago. The alert rules run over that history as the collect job would,
so the Alerts page and the limit lines on the Trends page have something to show.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Connection, func, insert, select

from nxforge.sdk import ModuleContext

from . import store
from .collect import alert_message
from .config import DeviceInfo, load_devices
from .settings import TemperatureSettings
from .tables import readings
from .thresholds import SensorState, evaluate

log = logging.getLogger(__name__)

DEMO_FILE = "demo.yaml"
BMC_SENSORS = (("inlet", "inlet_c"), ("exhaust", "exhaust_c"), ("cpu", "cpu_c"))
PROBE_SENSORS = (("ambient", "temperature_c"), ("humidity", "humidity_pct"))
HISTORY_DAYS = 35
HISTORY_STEP = timedelta(minutes=30)
OFFSETS_C = {"inlet": 0.0, "exhaust": 12.0, "cpu": 30.0, "ambient": 0.0}
"""How far above the room each kind reads, as the simulator's thermal profile has it."""
DAILY_C = {"cpu": 4.0}
"""How much a kind swings over a day (1.5 °C unless named here)."""
FAILURE_DAYS_AGO = 9
FAILURE_HOURS = 2
FAILURE_C = 7.0
"""The demo's one incident: the first BMC's rack runs this much hotter for two hours, from 14:00."""


def _device(device_id: str, style: str, url: str, rack: str) -> dict[str, Any]:
    sensors = BMC_SENSORS if style == "bmc" else PROBE_SENSORS
    scrape: dict[str, Any] = {"preset": style, "url": url}
    if style == "bmc":
        scrape["auth"] = {"type": "basic", "username": "admin", "password": "${NXFORGE_DEMO_PASSWORD}"}
    return {
        "id": device_id,
        "location": "Demo room",
        "rack": rack,
        "scrape": scrape,
        "sensors": [
            {"id": f"{device_id}-{kind}", "name": f"{rack} {kind}", "kind": kind, "value": value}
            for kind, value in sensors
        ],
    }


def _rack(device_id: str, index: int) -> str:
    """``R03`` for ``bmc-r03`` and ``probe-r03`` (a BMC and the probe of one rack share it), else by position."""
    suffix = device_id.rpartition("-r")[2]
    return f"R{int(suffix):02d}" if suffix.isdigit() else f"R{index + 1:02d}"


def write_demo_config(ctx: ModuleContext, simulator: Any) -> None:
    """Write ``config/temperature-monitor/demo.yaml`` and the history behind it, unless the file exists."""
    target = ctx.config_dir / DEMO_FILE
    if target.exists():
        return
    specs = [d for d in simulator.devices() if d.style in ("bmc", "envprobe")]
    devices = [_device(spec.id, spec.style, simulator.url_for(spec.id), _rack(spec.id, index))
               for index, spec in enumerate(specs)]
    document = {
        "groups": {
            "inlet": {"high": {"warning": 27, "critical": 32}, "hysteresis": 1, "min_duration": "2m"},
            "exhaust": {"high": {"warning": 40, "critical": 45}, "hysteresis": 1, "min_duration": "2m"},
            "humidity": {"high": {"warning": 70}, "low": {"warning": 20}, "hysteresis": 2},
        },
        "devices": devices,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# yaml-language-server: $schema=../../schemas/temperature-monitor.schema.json\n"
        "# Written by `nxforge demo` for the simulator; delete it to have it written again.\n"
    )
    target.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    bases = {spec.id: (float(spec.temperature_c), float(spec.humidity_pct)) for spec in specs}
    backfill_history(ctx, bases, simulator.clock.now())


def past_value(kind: str, base_c: float, humidity_pct: float, at: datetime, tz: ZoneInfo, seed: str) -> float:
    """What a sensor of ``kind`` read at ``at``: the simulator's value with a daily cycle, drift and noise."""
    local = at.astimezone(tz)
    daily = math.cos(2 * math.pi * (local.hour + local.minute / 60 - 15) / 24)
    weekly = math.sin(2 * math.pi * (at.timestamp() / 86400) / 7)
    noise = int.from_bytes(hashlib.sha1(seed.encode(), usedforsecurity=False).digest()[:2], "big") / 65535 - 0.5
    if kind == "humidity":
        return round(humidity_pct - 6 * daily + 3 * weekly + 2 * noise, 1)
    return round(base_c + OFFSETS_C.get(kind, 0.0) + DAILY_C.get(kind, 1.5) * daily + 0.6 * weekly + 0.4 * noise, 1)


def failure_window(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """When the demo's cooling failure happened: 14:00 site time, ``FAILURE_DAYS_AGO`` days ago, two hours."""
    day = (now.astimezone(tz) - timedelta(days=FAILURE_DAYS_AGO)).date()
    start = datetime(day.year, day.month, day.day, 14, tzinfo=tz)
    return start, start + timedelta(hours=FAILURE_HOURS)


def _has_readings(conn: Connection, sensor_id: str) -> bool:
    count = conn.execute(select(func.count()).select_from(readings).where(readings.c.sensor_id == sensor_id))
    return bool(count.scalar_one())


def _write_device(conn: Connection, device: DeviceInfo, base: tuple[float, float], times: list[datetime],
                  tz: ZoneInfo, failure: tuple[datetime, datetime] | None) -> int:
    """One device's past readings, its alert transitions and the state the last one leaves."""
    written = 0
    for sensor in device.sensors:
        if _has_readings(conn, sensor.id):
            continue  # the database outlived the demo file: never write the history twice
        state: SensorState = SensorState()
        watched = any(sensor.rule.limit(side, level) is not None for side in ("high", "low")
                      for level in ("warning", "critical"))
        rows: list[dict[str, Any]] = []
        changed_at: datetime | None = None
        value = 0.0
        for at in times:
            value = past_value(sensor.kind, base[0], base[1], at, tz, f"{sensor.id}@{at.isoformat()}")
            if failure and sensor.kind != "humidity" and failure[0] <= at < failure[1]:
                value = round(value + FAILURE_C, 1)
            rows.append({"sensor_id": sensor.id, "device_id": device.id, "at": at, "value": value,
                         "unit": sensor.unit, "error": None})
            if not watched:
                continue
            state, transition = evaluate(state, value, at, sensor.rule)
            if transition is not None:
                changed_at = at
                store.log_alert(conn, at, sensor.id, transition.kind, transition.level, transition.direction, value,
                                transition.threshold, alert_message(sensor, value, transition))
        conn.execute(insert(readings), rows)
        store.save_state(conn, sensor.id, state, value, times[-1], changed_at is not None)
        written += len(rows)
    return written


def backfill_history(ctx: ModuleContext, bases: dict[str, tuple[float, float]], now: datetime,
                     days: int = HISTORY_DAYS) -> int:
    """Readings every ``HISTORY_STEP`` over the past ``days`` for each device in ``bases`` (id -> °C, %RH)."""
    devices, _problems = load_devices(ctx.config_dir, TemperatureSettings.from_context(ctx))
    steps = int(timedelta(days=days) / HISTORY_STEP)
    step_min = int(HISTORY_STEP.total_seconds() // 60)
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % step_min)
    times = [first - step * HISTORY_STEP for step in range(steps, 0, -1)]
    failure = failure_window(now, ctx.timezone)
    hot_device = next((d.id for d in devices if d.id in bases and any(s.kind == "inlet" for s in d.sensors)), None)
    written = 0
    for device in devices:
        if device.id not in bases:
            continue
        with ctx.db.begin() as conn:
            store.take_write_lock(conn)
            written += _write_device(conn, device, bases[device.id], times, ctx.timezone,
                                     failure if device.id == hot_device else None)
    log.info("demo: %d past sensor readings written for %d devices", written, len(bases))
    return written
