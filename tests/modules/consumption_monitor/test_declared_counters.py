"""A counter's declared semantics (the preset's ``counter:``) decide rollover and reset in storage, not a guess.

The collector reads a Raritan PDU2 over SNMP whose 32-bit Wh register wraps between two readings;
the stored reading says ``rollover`` (exact: no estimated energy) and the bill is the simulator's
true consumption, on SQLite and PostgreSQL. Without the declaration the module default (999,999.9
kWh) would have made it a reset with an estimate.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from nxforge_modules.consumption_monitor.billing import billing_by_endpoint
from nxforge_modules.consumption_monitor.config import Endpoint
from nxforge_modules.consumption_monitor.counters import declared_rollover_kwh
from nxforge_modules.consumption_monitor.sync import _row_values
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import select

from nxforge.collector.runner import Collector
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from nxforge.sdk import ScrapeConfig
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import utc

DEFAULT = 999999.9  # the module setting's default
START = utc(2026, 6, 1, 8)


def scrape(preset: str, **extra: object) -> ScrapeConfig:
    url = "snmp://127.0.0.1:1161" if "snmp" in preset else "http://127.0.0.1/redfish/v1/x"
    if preset == "plain":
        url = "http://127.0.0.1/"
    auth = {"type": "snmp_community", "community": "${C}"} if "snmp" in preset else {}
    return ScrapeConfig.model_validate({"preset": preset, "url": url, **({"auth": auth} if auth else {}), **extra})


@pytest.mark.parametrize(("preset", "rollover"), [
    ("raritan-pdu2-snmp", 4294967.296),  # 32-bit unsigned Wh
    ("apc-rpdu2-snmp", 214748364.8),  # Integer32 tenths of kWh: wraps after 2**31 - 1 counts
    ("schneider-pm5xxx", None),  # INT64 Wh: wraps after 9.2e15 kWh, i.e. never (a float says where)
    ("vertiv-geist-snmp", None),  # stops at its ceiling: never wraps
    ("redfish-pdu-mains", None),  # no fixed width: a drop is a reset
    ("plain", DEFAULT),  # a web page declares nothing: the module default
])
def test_where_a_counter_wraps_comes_from_its_declaration(preset: str, rollover: float | None) -> None:
    config = scrape(preset) if preset != "schneider-pm5xxx" else ScrapeConfig.model_validate(
        {"preset": preset, "url": "modbus://127.0.0.1:1502"})
    found = declared_rollover_kwh(config, DEFAULT)
    if preset == "schneider-pm5xxx":
        assert found is not None and found > 9e15
    elif rollover is None:
        assert found is None
    else:
        assert found == pytest.approx(rollover)


def test_sync_stores_the_declaration_and_an_endpoints_own_rollover_still_wins() -> None:
    base = {"id": "r", "name": "r", "client": "c", "scrape": scrape("raritan-pdu2-snmp").model_dump(exclude_none=True)}
    declared = Endpoint.model_validate(base)
    own = Endpoint.model_validate({**base, "rollover_kwh": 50000.0})
    assert _row_values(declared, 900.0, DEFAULT, None)["rollover_kwh"] == pytest.approx(4294967.296)
    assert _row_values(own, 900.0, DEFAULT, None)["rollover_kwh"] == 50000.0


def test_a_declared_32_bit_wrap_is_stored_as_a_rollover_and_billed_exactly(
        nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({"timezone": "UTC"}))
    clock = SimClock(start=START, frozen=True)
    device = DeviceSpec("rar", "plain", power_kw=1.0, initial_kwh=4294965.0)  # 2.296 kWh below 2**32 Wh
    with Simulator([device], clock=clock) as sim:
        monkeypatch.setenv("SNMP_COMMUNITY", sim.snmp_credentials.community)
        folder = env.config_dir / "consumption-monitor"
        folder.mkdir(parents=True)
        site = {"clients": [{"name": "acme"}], "endpoints": [{
            "id": "rar", "name": "rar", "client": "acme", "poll_interval": "1h", "circuit_max_kw": 5.0,
            "scrape": {"preset": "raritan-pdu2-snmp", "url": sim.snmp_url("rar"), "timeout_s": 5, "retries": 0}}]}
        (folder / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
        platform = Platform(env, clock=clock.now)
        enable_module(platform, "consumption-monitor", "tests")
        try:
            collector = Collector(platform)
            for hour in range(5):
                sim.clock.set(START + timedelta(hours=hour))
                assert [(r.job, r.status) for r in collector.run_due()] == [("collect", "ok")]
            with platform.engine.connect() as conn:
                assert conn.execute(select(endpoint.c.rollover_kwh)).scalar_one() == pytest.approx(4294967.296)
                rows = conn.execute(select(reading.c.raw_kwh, reading.c.event, reading.c.estimated_kwh)
                                    .order_by(reading.c.read_at)).all()
            assert [row.event for row in rows] == [None, None, None, "rollover", None]
            assert rows[3].raw_kwh == pytest.approx(0.704) and sum(row.estimated_kwh for row in rows) == 0.0
            last = START + timedelta(hours=4)
            billed = billing_by_endpoint(platform.engine, (START, last), ZoneInfo("UTC"), last).row(0, named=True)
            assert billed["kwh"] == pytest.approx(4.0, abs=1e-6)  # 1 kW for 4 h, across the wrap
        finally:
            platform.close()
