"""A site with two clients for the client-role tests, and a client user bound to one of them.

acme has two feeds (2.5 kW and 1.5 kW) in one rack; globex has one 132.9 kW circuit in the same
rack, so a page that forgets the scope shows a figure nobody else has. Both are read every two
hours through March 2026 (closed, one statement each) and every hour over the last ten days up
to a few minutes ago (so Live, History, Energy and Power have something now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from nxforge.auth.users import USERS_FILE, UserStore
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.loading import mount_modules
from nxforge.platform import Platform
from tests.app.conftest import write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR

MONTH = "2026-03"
CLIENT_USER = "acme-user"
CLIENT_PASSWORD = "acme-user-test-pass"
LOCATION = "Room 1 / Row A / Rack 07"
ENDPOINTS = {  # id -> (client, feed, kW, circuit rating kW, first counter)
    "acme-pdu-a": ("acme", "A", 2.5, 4.0, 1000.0),
    "acme-pdu-b": ("acme", "B", 1.5, 4.0, 3000.0),
    "globex-pdu-1": ("globex", "A", 132.9, 160.0, 777000.0),
}
CLIENTS_YAML = """\
clients:
  - name: acme
    display_name: Acme Hosting
    rate_per_kwh: 0.25
    currency: EUR
  - name: globex
    display_name: Globex Corporation
    rate_per_kwh: 0.31
    currency: EUR
"""


@dataclass(frozen=True)
class Totals:
    """One client's closed March statement, as served to staff."""

    kwh: Decimal
    amount: Decimal


def _readings(now: datetime) -> list[tuple[str, datetime, float, float]]:
    """(endpoint, at, counter, power W): March every two hours, then the last ten days every hour."""
    march = [datetime(2026, 2, 28, 12, tzinfo=UTC) + timedelta(hours=2 * step) for step in range(32 * 12 + 1)]
    recent_start = (now - timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    recent = [recent_start + timedelta(hours=step) for step in range(10 * 24)] + [now - timedelta(minutes=3)]
    rows = []
    for endpoint_id, (_, _, kw, _, first) in ENDPOINTS.items():
        for at in march + recent:
            hours = (at - march[0]).total_seconds() / 3600
            rows.append((endpoint_id, at, round(first + kw * hours, 3), kw * 1000))
    return rows


def build_client_site(env: Environment) -> dict[str, Totals]:
    """Config, users (one per staff role and ``acme-user``), endpoints, readings, March closed.

    Returns each client's closed March totals, read back as staff, for the tests' searches.
    """
    write_core_config(env, [])
    write_users(env)
    UserStore(env.config_dir / USERS_FILE, rounds=4).add(CLIENT_USER, CLIENT_PASSWORD, "client", name="Acme Viewer",
                                                         client="acme")
    folder = env.config_dir / "consumption-monitor"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients.yaml").write_text(CLIENTS_YAML, encoding="utf-8")
    mount_modules(MODULES_DIR)
    from nxforge_modules.consumption_monitor.readings import RawReading
    from nxforge_modules.consumption_monitor.reporting import month_statements, source_for
    from nxforge_modules.consumption_monitor.settings import MonitorSettings
    from nxforge_modules.consumption_monitor.statements import close_month
    from nxforge_modules.consumption_monitor.store import store_batch
    from nxforge_modules.consumption_monitor.sync import SINCE_ALWAYS
    from nxforge_modules.consumption_monitor.tables import client_assignment, endpoint

    platform = Platform(env)
    try:
        enable_module(platform, "consumption-monitor", "test")
        now = datetime.now(UTC)
        with platform.engine.begin() as conn:
            for endpoint_id, (client, feed, _, rating, _) in ENDPOINTS.items():
                conn.execute(insert(endpoint).values(
                    id=endpoint_id, name=endpoint_id.upper(), client=client, location=LOCATION, feed=feed,
                    circuit_max_kw=rating, poll_interval_s=3600.0, rollover_kwh=9999999.9, enabled=True,
                    config_hash="x"))  # fmt: skip
                conn.execute(insert(client_assignment).values(
                    endpoint_id=endpoint_id, client=client, valid_from=SINCE_ALWAYS, recorded_at=SINCE_ALWAYS))
            store_batch(conn, [RawReading(e, at, True, raw_kwh=kwh, power_w=w) for e, at, kwh, w in _readings(now)])
        ctx = platform.context("consumption-monitor")
        tz = MonitorSettings.from_context(ctx).timezone
        close_month(platform.engine, MONTH, tz, now, source_for(ctx), who="finance", max_estimated_share=1.0)
        _, statements = month_statements(ctx, MONTH, now)
        return {item.client: Totals(item.total_kwh, item.total_amount) for item in statements}
    finally:
        platform.close()
