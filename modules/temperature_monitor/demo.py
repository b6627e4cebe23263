"""The ``demo`` hook: sensors for every BMC and probe the demo's simulator runs."""

from __future__ import annotations

from typing import Any

import yaml

from nxforge.sdk import ModuleContext

DEMO_FILE = "demo.yaml"
BMC_SENSORS = (("inlet", "inlet_c"), ("exhaust", "exhaust_c"), ("cpu", "cpu_c"))
PROBE_SENSORS = (("ambient", "temperature_c"), ("humidity", "humidity_pct"))


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


def write_demo_config(ctx: ModuleContext, simulator: Any) -> None:
    """Write ``config/temperature-monitor/demo.yaml`` unless it exists."""
    target = ctx.config_dir / DEMO_FILE
    if target.exists():
        return
    devices = [
        _device(spec.id, spec.style, simulator.url_for(spec.id), f"R{index + 1:02d}")
        for index, spec in enumerate(d for d in simulator.devices() if d.style in ("bmc", "envprobe"))
    ]
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
