"""The collector path over SNMP, Modbus TCP and Redfish: every such preset, read by the real collector
from the simulator, stored on SQLite and PostgreSQL, and billed as the simulator's true consumption."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from nxforge_modules.consumption_monitor.billing import billing_by_endpoint
from nxforge_modules.consumption_monitor.tables import reading
from sqlalchemy import select

from nxforge.collector.runner import Collector
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from nxforge.scraping import list_presets, load_preset
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import DEVICE_ENERGY, OUTLET_ENERGY, outlet_kwh
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import utc

START = utc(2026, 5, 10, 8)
HOURS = 4
PROTOCOL_PRESETS = [name for name in list_presets()
                    if load_preset(name).get("engine") in ("snmp", "modbus") or name.startswith("redfish-")]
REDFISH = {"redfish-pdu-mains": "redfish/v1/PowerEquipment/RackPDUs/1/Mains/AA",
           "redfish-pdu-outlet": "redfish/v1/PowerEquipment/RackPDUs/1/Outlets/2",
           "redfish-pdu-mains-lifetime": "redfish/v1/PowerEquipment/RackPDUs/1/Mains/AA",
           "redfish-pdu-outlet-lifetime": "redfish/v1/PowerEquipment/RackPDUs/1/Outlets/2"}
# Counts per kWh each preset's register shows (its display resolution).
PER_KWH = {**{n: e.per_kwh for n, e in {**DEVICE_ENERGY, **OUTLET_ENERGY}.items()},
           "schneider-pm5xxx": 1000, "eastron-sdm630": 1000, **dict.fromkeys(REDFISH, 1000)}
OUTLET_PRESETS = {*OUTLET_ENERGY, "redfish-pdu-outlet", "redfish-pdu-outlet-lifetime"}
# The Modbus presets once more, on the simulator's RTU bus (RTU frames over TCP, as through a serial converter).
RTU = {f"{name}-rtu": name for name in PROTOCOL_PRESETS if load_preset(name)["engine"] == "modbus"}
ENDPOINTS = {**{name: name for name in PROTOCOL_PRESETS}, **RTU}  # endpoint id -> preset (and device)


def endpoint_for(sim: Simulator, endpoint_id: str) -> dict[str, object]:
    preset = ENDPOINTS[endpoint_id]
    engine = load_preset(preset)["engine"]
    scrape: dict[str, object] = {"preset": preset, "timeout_s": 5, "retries": 0}
    if preset in REDFISH:
        scrape["url"] = sim.url_for(preset) + REDFISH[preset]
    elif engine == "snmp":
        scrape["url"] = sim.snmp_url(preset)
        if preset in OUTLET_ENERGY:  # outlet 2 of the PDU
            # The simulated clock jumps an hour between runs a second apart: no walk may be reused.
            scrape["snmp"] = {"outlet": 2, "walk_cache_s": 0}
    elif endpoint_id in RTU:
        scrape["url"], unit = sim.modbus_rtu(preset)
        scrape["modbus"] = {"framing": "rtu", "unit_id": unit}
    else:
        scrape["url"] = sim.modbus_url(preset)
    return {"id": endpoint_id, "name": endpoint_id, "client": "acme", "poll_interval": "1h", "circuit_max_kw": 5.0,
            "scrape": scrape}


def shown_kwh(sim: Simulator, preset: str) -> float:
    """What the preset's register shows now, in kWh (device or outlet 2, at its resolution)."""
    kwh = sim.displayed_kwh(preset)
    if preset in OUTLET_PRESETS:
        kwh = outlet_kwh(kwh, 2)
    return round(kwh * PER_KWH[preset]) / PER_KWH[preset]


@dataclasses.dataclass
class World:
    platform: Platform
    sim: Simulator


@pytest.fixture
def world(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({"timezone": "UTC"}))
    clock = SimClock(start=START, frozen=True)
    devices = [DeviceSpec(name, "plain", power_kw=1.2 + 0.1 * i, initial_kwh=2000.0 + 100 * i)
               for i, name in enumerate(PROTOCOL_PRESETS)]
    with Simulator(devices, clock=clock) as sim:
        monkeypatch.setenv("SNMP_COMMUNITY", sim.snmp_credentials.community)
        monkeypatch.setenv("REDFISH_PASSWORD", devices[0].password)
        folder = env.config_dir / "consumption-monitor"
        folder.mkdir(parents=True)
        site = {"clients": [{"name": "acme"}], "endpoints": [endpoint_for(sim, e) for e in ENDPOINTS]}
        (folder / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
        platform = Platform(env, clock=clock.now)
        enable_module(platform, "consumption-monitor", "tests")
        try:
            yield World(platform, sim)
        finally:
            platform.close()


def test_every_protocol_preset_is_collected_stored_and_billed(world: World) -> None:
    platform, sim = world.platform, world.sim
    assert len(PROTOCOL_PRESETS) >= 17 and len(RTU) == 2
    collector = Collector(platform)
    expected: dict[str, list[float]] = {e: [] for e in ENDPOINTS}
    for hour in range(HOURS):
        sim.clock.set(START + timedelta(hours=hour))
        runs = collector.run_due()
        assert [(r.job, r.status) for r in runs] == [("collect", "ok")], runs
        for endpoint_id, preset in ENDPOINTS.items():
            expected[endpoint_id].append(shown_kwh(sim, preset))
    with platform.engine.connect() as conn:
        rows = conn.execute(select(reading.c.endpoint_id, reading.c.success, reading.c.raw_kwh, reading.c.engine,
                                   reading.c.error_message).order_by(reading.c.read_at)).all()
    stored: dict[str, list[float]] = {e: [] for e in ENDPOINTS}
    for row in rows:
        assert row.success, (row.endpoint_id, row.error_message)
        assert row.engine == load_preset(ENDPOINTS[row.endpoint_id])["engine"], row.endpoint_id
        stored[row.endpoint_id].append(row.raw_kwh)
    for endpoint_id in ENDPOINTS:
        assert stored[endpoint_id] == pytest.approx(expected[endpoint_id], rel=1e-7, abs=1e-9), endpoint_id

    last = START + timedelta(hours=HOURS - 1)
    billed = {row["endpoint_id"]: row for row in billing_by_endpoint(
        platform.engine, (START, last), ZoneInfo("UTC"), last).iter_rows(named=True)}
    for endpoint_id, preset in ENDPOINTS.items():
        truth = sim.true_energy_kwh(preset, last) - sim.true_energy_kwh(preset, START)
        if preset in OUTLET_PRESETS:
            truth = outlet_kwh(truth, 2)
        assert billed[endpoint_id]["kwh"] == pytest.approx(truth, abs=2.0 / PER_KWH[preset] + 1e-6), endpoint_id
