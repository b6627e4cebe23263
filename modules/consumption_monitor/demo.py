"""The ``demo`` hook: an endpoint for every simulated meter, and five weeks of hourly history behind them.

A demo with minutes of data shows empty charts and a zero bill, so the hook also writes past
readings derived from each simulated meter's constant draw: what the collector would have
stored had it been running, through the same store function (so counters are corrected alike).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import yaml

from nxforge.sdk import ModuleContext

from .readings import RawReading
from .store import store_batch

log = logging.getLogger(__name__)

DEMO_FILE = "demo.yaml"
DEMO_SECRET = "${NXFORGE_DEMO_PASSWORD}"
CLIENTS = [
    {"name": "acme", "rate_per_kwh": 0.21, "currency": "EUR", "overhead_factor": 1.4},
    {"name": "globex", "rate_per_kwh": 0.19, "currency": "EUR"},
    {"name": "initech", "rate_per_kwh": 0.23, "currency": "EUR", "overhead_factor": 1.3},
]
VENDORS = {
    "apc-nmc2": "APC", "apc-nmc1": "APC", "raritan": "Raritan", "eaton-g4": "Eaton",
    "geist": "Vertiv", "sentry": "ServerTech", "panel-eu": "Socomec", "plain": "Generic",
}
HISTORY_DAYS = 35
HISTORY_STEP = timedelta(hours=1)


def _endpoint(index: int, spec: Any, url: str) -> dict[str, Any]:
    rack = index // 2 + 1
    scrape: dict[str, Any] = {"preset": spec.style, "url": url}
    if spec.style in ("apc-nmc1", "apc-nmc2", "raritan", "eaton-g4", "sentry"):
        scrape["auth"] = {"username": spec.username, "password": DEMO_SECRET}
    return {
        "id": spec.id,
        "name": f"Rack {rack:02d} feed {'AB'[index % 2]}",
        "client": CLIENTS[(index // 2) % len(CLIENTS)]["name"],
        "location": f"Room 1 / Row {'ABCD'[(rack - 1) // 4 % 4]} / Rack {rack:02d}",
        "type": "PowerMeter" if spec.style == "panel-eu" else "PDU",
        "vendor": VENDORS.get(spec.style, "Generic"),
        "feed": "AB"[index % 2],
        "poll_interval": "1m",
        "circuit_max_kw": 11,
        "scrape": scrape,
    }


def write_demo_config(ctx: ModuleContext, simulator: Any) -> None:
    """Write ``config/consumption-monitor/demo.yaml`` and the history, unless the file exists."""
    target = ctx.config_dir / DEMO_FILE
    if target.exists():
        return
    meters = [spec for spec in simulator.devices() if spec.style in VENDORS]
    document = {
        "clients": CLIENTS,
        "endpoints": [_endpoint(i, spec, simulator.url_for(spec.id)) for i, spec in enumerate(meters)],
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# yaml-language-server: $schema=../../schemas/consumption-monitor.schema.json\n"
        "# Written by `nxforge demo` for the simulator; delete it to have it written again.\n"
    )
    target.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    from .collect import sync_now

    sync_now(ctx)
    backfill_history(ctx, meters, simulator.clock.now())


def backfill_history(ctx: ModuleContext, meters: list[Any], now: Any) -> int:
    """Hourly readings over the past five weeks, as each meter's constant draw implies.

    Hourly, because readings further apart than the ``gap_after`` setting (1 h) are gaps whose energy
    is estimated: sparser history would make every demo bill look estimated and refuse to close.
    Stored a round at a time (one reading per meter, oldest first), the collector's batched path.
    """
    stored = 0
    steps = int(timedelta(days=HISTORY_DAYS) / HISTORY_STEP)
    with ctx.db.begin() as conn:
        for step in range(steps, 0, -1):
            read_at = now - step * HISTORY_STEP
            hours_before_now = step * HISTORY_STEP.total_seconds() / 3600
            batch = [
                RawReading(endpoint_id=spec.id, read_at=read_at, success=True,
                           raw_kwh=round(spec.initial_kwh - spec.power_kw * hours_before_now, 1),
                           power_w=spec.power_kw * 1000, engine="demo-history")
                for spec in meters if spec.initial_kwh - spec.power_kw * hours_before_now >= 0
            ]
            stored += sum(outcome.inserted for outcome in store_batch(conn, batch))
    log.info("demo: %d past readings written for %d meters", stored, len(meters))
    return stored
