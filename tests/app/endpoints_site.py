"""Endpoint YAML pointing at a running meter simulator, synced into the database: for the Endpoints page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.loading import mount_modules
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from tests.app.consumption_site import MODULES_DIR

MODULE = "consumption-monitor"
ENDPOINTS_FILE = "site.yaml"
PLAIN_DEVICE = "plain-001"
SIM_START = datetime(2026, 3, 1, tzinfo=UTC)
# Line numbers the tests rely on: keep them in step with the text below.
POLL_LINE = 10
COMMENT = "# rack 01 moved to room 2 in March; ask facilities before changing the feed"

ENDPOINTS_YAML = """\
# Test site endpoints (written by tests/app/endpoints_site.py).
# acme pays a flat rate; globex is the client the editor test moves an endpoint to.
clients: [{{name: acme, rate_per_kwh: 0.2}}, {{name: globex}}]
endpoints:
  - id: plain-a
    name: Rack 01 feed A
    {comment}
    client: acme
    feed: A
    poll_interval: 15m
    scrape:
      preset: plain
      url: "{plain_url}"
  - id: plain-b
    name: Rack 02 feed A
    client: acme
    location: room 2
    circuit_max_kw: 7.4
    scrape:
      preset: plain
      engine: browser
      url: "{plain_url}"
"""


def start_simulator() -> Simulator:
    """A frozen simulator with one ``plain`` device (12,543.5 kWh), started."""
    clock = SimClock(start=SIM_START, frozen=True)
    devices = [DeviceSpec(PLAIN_DEVICE, "plain", power_kw=2.0, initial_kwh=12543.5)]
    return Simulator(devices, clock=clock).start()


def endpoints_path(env: Environment) -> Path:
    """The endpoint file the tests edit."""
    return env.config_dir / MODULE / ENDPOINTS_FILE


def write_endpoints(env: Environment, sim: Simulator) -> Path:
    """Write the endpoint YAML (with a comment inside an endpoint) pointing at ``sim``."""
    path = endpoints_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ENDPOINTS_YAML.format(comment=COMMENT, plain_url=sim.url_for(PLAIN_DEVICE)), encoding="utf-8")
    return path


def seed_endpoints(env: Environment, sim: Simulator, enable: bool = True) -> Path:
    """Write the YAML, enable the module (unless already) and mirror the YAML into the database."""
    mount_modules(MODULES_DIR)
    from nxforge_modules.consumption_monitor.collect import sync_now

    path = write_endpoints(env, sim)
    platform = Platform(env)
    try:
        if enable:
            enable_module(platform, MODULE, "test")
        sync_now(platform.context(MODULE))
    finally:
        platform.close()
    return path
