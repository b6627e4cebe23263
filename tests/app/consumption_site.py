"""A site with the real consumption monitor enabled and N endpoints with a month of readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.loading import mount_modules
from nxforge.platform import Platform

ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = ROOT / "modules"
START = datetime(2026, 3, 1, tzinfo=UTC)


def seed_consumption(env: Environment, endpoints: int, hours: int = 48, step_h: int = 6) -> None:
    """Enable consumption-monitor and store ``endpoints`` endpoints with readings every ``step_h`` hours."""
    mount_modules(MODULES_DIR)
    from nxforge_modules.consumption_monitor.readings import RawReading
    from nxforge_modules.consumption_monitor.store import store_reading
    from nxforge_modules.consumption_monitor.sync import SINCE_ALWAYS
    from nxforge_modules.consumption_monitor.tables import client_assignment, endpoint

    platform = Platform(env)
    try:
        enable_module(platform, "consumption-monitor", "test")
        with platform.engine.begin() as conn:
            for number in range(endpoints):
                endpoint_id = f"ep-{number:04d}"
                client = f"client-{number % 7}"
                conn.execute(insert(endpoint).values(
                    id=endpoint_id, name=f"PDU {number}", client=client, location=f"room-{number % 3}",
                    feed="A" if number % 2 else "B", poll_interval_s=900.0, rollover_kwh=999999.9, enabled=True,
                    config_hash="x",
                ))  # fmt: skip
                conn.execute(insert(client_assignment).values(
                    endpoint_id=endpoint_id, client=client, valid_from=SINCE_ALWAYS, recorded_at=SINCE_ALWAYS
                ))  # fmt: skip
                for hour in range(0, hours, step_h):
                    at = START + timedelta(hours=hour)
                    ok = not (number % 11 == 0 and hour == hours - step_h)
                    raw = (
                        RawReading(endpoint_id, at, True, raw_kwh=1000.0 + number + hour * 1.5, power_w=1500.0)
                        if ok
                        else RawReading(endpoint_id, at, False, error_class="unreachable", error_message="down")
                    )
                    store_reading(conn, raw)
    finally:
        platform.close()
