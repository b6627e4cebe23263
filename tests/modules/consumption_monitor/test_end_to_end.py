"""End to end: simulator devices, the real collector on a shared frozen clock, billing against the truth.

Hourly readings from 30 March to 2 April 2026 across the March/April boundary (site time
Europe/Paris), with a counter reset, a natural rollover, a meter swap recorded by ops through
the CLI function, a device down for nine hours around the boundary and a meter whose password
is wrong the whole time. Billing must equal the simulator's true consumption within the
display resolution, and the CLI's CSV and XLSX must carry the same numbers.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import polars as pl
import pytest
import yaml
from nxforge_modules.consumption_monitor import cli, exports
from nxforge_modules.consumption_monitor.billing import billing_by_client, billing_by_endpoint
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import func, select

from nxforge.collector.runner import Collector
from nxforge.db.schema import events
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import utc

PARIS = ZoneInfo("Europe/Paris")
START = utc(2026, 3, 30, 12, 30)
STEPS = 72
TOLERANCE_KWH = 0.3  # 0.1 kWh display steps at both boundaries, plus interpolation of rounded values
ROLLOVER = 999999.9
SWAP_AT = utc(2026, 4, 1, 10)
RESET_AT = utc(2026, 4, 1, 5, 10)
DOWN = (utc(2026, 3, 31, 18), utc(2026, 4, 1, 3))

DEVICES = [
    DeviceSpec("plain-reset", "plain", power_kw=2.0, initial_kwh=1000.0),
    DeviceSpec("geist-roll", "geist", power_kw=3.0, initial_kwh=ROLLOVER - 3.0 * 40, rollover_kwh=ROLLOVER),
    DeviceSpec("apc-ok", "apc-nmc1", power_kw=1.5, initial_kwh=17000.0),
    DeviceSpec("plain-swap", "plain", power_kw=1.0, initial_kwh=500.0),
    DeviceSpec("plain-gap", "plain", power_kw=4.0, initial_kwh=80000.0),
    DeviceSpec("apc-bad", "apc-nmc1", power_kw=1.0, initial_kwh=10.0),
]
CLIENTS = {"plain-reset": "acme", "geist-roll": "acme", "apc-ok": "globex", "plain-swap": "globex",
           "plain-gap": "initech", "apc-bad": "initech"}


def endpoints_yaml(sim: Simulator) -> dict[str, object]:
    items = []
    for spec in DEVICES:
        preset = {"plain": "plain", "geist": "geist", "apc-nmc1": "apc-nmc1"}[spec.style]
        scrape: dict[str, object] = {"preset": preset, "url": sim.url_for(spec.id), "timeout_s": 5}
        if spec.id == "plain-gap":
            scrape["retries"] = 0
        items.append({"id": spec.id, "name": spec.id.title(), "client": CLIENTS[spec.id],
                      "feed": "A" if spec.id != "geist-roll" else "B", "poll_interval": "1h",
                      "circuit_max_kw": spec.power_kw * 2, "scrape": scrape})
    return {"clients": [{"name": "acme", "rate_per_kwh": 0.2, "overhead_factor": 1.5}, {"name": "globex"},
                        {"name": "initech"}], "endpoints": items}


@dataclasses.dataclass
class World:
    platform: Platform
    sim: Simulator
    clock: SimClock
    swap_old_final: float


@pytest.fixture
def world(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("APC_PASSWORD", "secret")
    env = dataclasses.replace(nx_env, modules_dir=MODULES_DIR)
    env.core_config_path.write_text(yaml.safe_dump({
        "timezone": "Europe/Paris",
        "modules": {"settings": {"consumption-monitor": {"default_poll_interval": "1h"}}},
    }))
    clock = SimClock(start=START, frozen=True)
    with Simulator(DEVICES, clock=clock) as sim:
        folder = env.config_dir / "consumption-monitor"
        folder.mkdir(parents=True)
        (folder / "site.yaml").write_text(yaml.safe_dump(endpoints_yaml(sim), sort_keys=False))
        platform = Platform(env, clock=clock.now)
        enable_module(platform, "consumption-monitor", "tests")
        sim.device("apc-bad").set_fault("wrong_password")
        try:
            yield World(platform, sim, clock, _run_collector(platform, sim, clock))
        finally:
            platform.close()


def _run_collector(platform: Platform, sim: Simulator, clock: SimClock) -> float:
    """Read every hour for three days, injecting the faults at their moments; return the swap's old final."""
    old_final: dict[str, float] = {}
    happenings: list[tuple[datetime, Callable[[], None]]] = [
        (RESET_AT, lambda: sim.device("plain-reset").set_fault("reset")),
        (SWAP_AT, lambda: (old_final.setdefault("kwh", sim.displayed_kwh("plain-swap", SWAP_AT)),
                           sim.device("plain-swap").set_fault("swap", initial=0.0))),
        (DOWN[0], lambda: sim.device("plain-gap").set_fault("down")),
        (DOWN[1], lambda: sim.device("plain-gap").clear_fault("down")),
    ]
    happenings.sort(key=lambda item: item[0])
    collector = Collector(platform)
    for step in range(STEPS):
        read_at = START + timedelta(hours=step)
        while happenings and happenings[0][0] <= read_at:
            when, action = happenings.pop(0)
            clock.set(when)
            action()
        clock.set(read_at)
        runs = collector.run_due()
        assert [(r.job, r.status) for r in runs] == [("collect", "ok")], runs
    return old_final["kwh"]


def truth(sim: Simulator, device_id: str, start: datetime, end: datetime) -> float:
    return sim.true_energy_kwh(device_id, end) - sim.true_energy_kwh(device_id, start)


def by_id(table: pl.DataFrame) -> dict[str, dict]:  # type: ignore[type-arg]
    return {row["endpoint_id"]: row for row in table.iter_rows(named=True)}


def test_billing_matches_the_simulator_truth(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    platform, sim = world.platform, world.sim
    ctx = platform.context("consumption-monitor")
    assert cli.meter_swap(ctx, ["plain-swap", "--at", SWAP_AT.isoformat(), "--old-final", f"{world.swap_old_final}",
                                "--new-initial", "0", "--why", "meter replaced", "--who", "ops"]) == 0
    assert "reading(s) recomputed" in capsys.readouterr().out
    last_read = START + timedelta(hours=STEPS - 1)
    boundary = utc(2026, 3, 31, 22)  # 1 April, midnight in Paris
    with platform.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reading)).scalar_one() == STEPS * len(DEVICES)
        assert conn.execute(select(func.count()).select_from(endpoint).where(endpoint.c.next_due_at.is_(None))
                            ).scalar_one() == 0
        kinds = {row.kind for row in conn.execute(select(events.c.kind))}
    assert {"meter.reset", "scrape.failed"} <= kinds

    march_part = by_id(billing_by_endpoint(platform.engine, (START + timedelta(hours=3), boundary), PARIS, last_read))
    april = by_id(billing_by_endpoint(platform.engine, "2026-04", PARIS, last_read))
    for spec in DEVICES:
        if spec.id == "apc-bad":
            continue
        expected_april = truth(sim, spec.id, boundary, last_read)
        expected_march = truth(sim, spec.id, START + timedelta(hours=3), boundary)
        assert april[spec.id]["kwh"] == pytest.approx(expected_april, abs=TOLERANCE_KWH), spec.id
        assert march_part[spec.id]["kwh"] == pytest.approx(expected_march, abs=TOLERANCE_KWH), spec.id
        assert april[spec.id]["to_date"] is True and april[spec.id]["end_method"] == "exact"
    assert april["plain-gap"]["start_method"] == "interpolated" and april["plain-gap"]["failed_reads"] == 5
    assert march_part["plain-gap"]["failed_reads"] == 4  # down 18:00-03:00 UTC, boundary 22:00
    assert april["plain-reset"]["resets_folded"] == 1 and april["plain-reset"]["estimated_share"] > 0
    assert april["geist-roll"]["resets_folded"] == 1 and april["geist-roll"]["estimated_share"] == 0
    assert april["plain-swap"]["resets_folded"] == 1
    assert april["apc-bad"]["kwh"] is None and april["apc-bad"]["failed_reads"] == 37
    clients = billing_by_client(platform.engine, "2026-04", PARIS, last_read)
    acme = clients.filter(pl.col("client") == "acme").row(0, named=True)
    assert acme["kwh"] == pytest.approx(april["plain-reset"]["kwh"] + april["geist-roll"]["kwh"], abs=0.002)

    # The CLI writes the same table the app downloads: CSV bytes equal, XLSX numbers equal.
    csv_path, xlsx_path = tmp_path / "april.csv", tmp_path / "april.xlsx"
    assert cli.billing(ctx, ["--month", "2026-04", "-o", str(csv_path)]) == 0
    assert cli.billing(ctx, ["--month", "2026-04", "--format", "xlsx", "-o", str(xlsx_path)]) == 0
    assert csv_path.read_bytes() == cli.billing_table_bytes(ctx, "2026-04", "endpoint", "csv")
    assert xlsx_path.read_bytes() == cli.billing_table_bytes(ctx, "2026-04", "endpoint", "xlsx")
    from_csv = pl.read_csv(io.BytesIO(csv_path.read_bytes()))
    sheet = openpyxl.load_workbook(xlsx_path).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    xlsx_kwh = {row[0]: row[header.index("kwh")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    for endpoint_id, row in april.items():
        assert xlsx_kwh[endpoint_id] == row["kwh"]
        assert from_csv.filter(pl.col("endpoint_id") == endpoint_id)["kwh"][0] == row["kwh"]
    assert cli.billing(ctx, ["--month", "2026-04", "--by", "client"]) == 0
    assert "acme" in capsys.readouterr().out
    assert exports.to_csv(clients, PARIS).startswith(b"client,endpoints,")
    assert cli.endpoints(ctx, ["--status"]) == 0
    status = capsys.readouterr().out
    assert "apc-bad" in status and "failing" in status and "auth_failed" in status

    # A dry run scrapes and prints but stores nothing.
    with platform.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(reading)).scalar_one()
    runs = Collector(platform, job="collect", filters={"dry_run": True, "endpoint": ["apc-ok"]}).run_due()
    assert runs[0].status == "ok" and runs[0].summary["total"] == 1
    assert "apc-ok: {'total_kwh':" in capsys.readouterr().out
    with platform.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reading)).scalar_one() == before


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
