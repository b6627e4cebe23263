"""A site with the real temperature monitor enabled, its collect job run against simulated sensors."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from nxforge.collector.runner import Collector
from nxforge.db.types import utcnow
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.loading import mount_modules
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator

ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = ROOT / "modules"
MODULE = "temperature-monitor"
STEP = timedelta(seconds=61)  # a little over the job's 1m schedule, so every run_due() runs it
# Sensor id -> name, as the pages show them.
SENSORS = {
    "r01-inlet": "R01 inlet", "r01-exhaust": "R01 exhaust", "r01-cpu": "R01 cpu",
    "r02-inlet": "R02 inlet", "r02-exhaust": "R02 exhaust", "r02-cpu": "R02 cpu",
    "room-a-air": "Room A air", "room-a-rh": "Room A RH",
}  # fmt: skip


class Clock:
    """The platform's clock during seeding: stepped by hand, and ending well before the real now."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def sensors_yaml(sim: Simulator) -> str:
    """Two BMCs (inlet, exhaust, CPU) in racks R01 and R02 and one room probe (air, humidity)."""
    devices = [
        {"id": device, "location": "Room A", "rack": rack, "scrape": {"preset": "bmc", "url": sim.url_for(device)},
         "sensors": [{"id": f"{rack.lower()}-{kind}", "name": f"{rack} {kind}", "kind": kind, "value": f"{kind}_c"}
                     for kind in ("inlet", "exhaust", "cpu")]}
        for device, rack in (("bmc-r01", "R01"), ("bmc-r02", "R02"))
    ]  # fmt: skip
    probe = {
        "id": "env-a",
        "location": "Room A",
        "scrape": {"preset": "envprobe", "url": sim.url_for("env-a")},
        "sensors": [
            {"id": "room-a-air", "name": "Room A air", "kind": "ambient", "value": "temperature_c"},
            {"id": "room-a-rh", "name": "Room A RH", "kind": "humidity", "value": "humidity_pct"},
        ],
    }
    devices.append(probe)
    groups = {
        "inlet": {"high": {"warning": 27, "critical": 32}, "hysteresis": 1.0, "min_duration": "1m"},
        "humidity": {"high": {"warning": 70}, "low": {"warning": 20}},
    }
    return yaml.safe_dump({"groups": groups, "devices": devices})


def seed_temperatures(env: Environment, normal_runs: int = 2, hot_runs: int = 4, history_days: int = 0) -> int:
    """Enable temperature-monitor and run its collect job; R01 overheats (45 °C) for ``hot_runs`` runs.

    The platform's clock starts 15 minutes ago and moves one step per run, so every reading is
    in the past (the trends page reads up to the real now) and the overheat outlasts min_duration.
    With ``history_days``, the demo hook's history (half-hourly readings) comes before those runs.
    Returns how many runs succeeded.
    """
    mount_modules(MODULES_DIR)
    specs = [DeviceSpec("bmc-r01", "bmc"), DeviceSpec("bmc-r02", "bmc", temperature_c=24.0),
             DeviceSpec("env-a", "envprobe")]  # fmt: skip
    clock = Clock(utcnow() - timedelta(minutes=15))
    ok = 0
    with Simulator(specs, clock=SimClock(start=clock.now, frozen=True)) as sim:
        folder = env.config_dir / "temperature-monitor"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "room-a.yaml").write_text(sensors_yaml(sim), encoding="utf-8")
        platform = Platform(env, clock=clock)
        try:
            enable_module(platform, MODULE, "test")
            if history_days:
                from nxforge_modules.temperature_monitor.demo import backfill_history

                bases = {spec.id: (spec.temperature_c, spec.humidity_pct) for spec in specs}
                backfill_history(platform.context(MODULE), bases, clock.now, days=history_days)
            for index in range(normal_runs + hot_runs):
                if index == normal_runs:
                    sim.device("bmc-r01").set_fault("overheat", celsius=45)
                runs = Collector(platform, module=MODULE, job="collect").run_due(trigger="manual")
                ok += sum(1 for run in runs if run.status == "ok")
                clock.now += STEP
                sim.clock.advance(STEP)
        finally:
            platform.close()
    return ok


def forget_module() -> None:
    """Drop the module's imported packages so the next test imports them afresh."""
    for name in [m for m in sys.modules if m.partition(".")[2].split(".")[0] == "temperature_monitor"]:
        sys.modules.pop(name, None)
