"""``nxforge scrape test ENDPOINT`` and ``nxforge scrape suggest URL`` as ops run them: a real subprocess,
the consumption monitor's YAML, the simulator on 127.0.0.1 (http engine; the browser has its own suites)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nxforge.simulator import DeviceSpec, SimClock, Simulator

from .conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def meters() -> Iterator[Simulator]:
    """A plain meter, an APC card and the quirks pages."""
    devices = [DeviceSpec(id="plain-1", style="plain", initial_kwh=12543.5),
               DeviceSpec(id="apc-1", style="apc-nmc2", initial_kwh=12543.5, password=PASSWORD),
               DeviceSpec(id="quirks-1", style="quirks", initial_kwh=12543.5)]
    simulator = Simulator(devices, clock=SimClock(start=datetime(2025, 1, 1, tzinfo=UTC), frozen=True)).start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def site(tmp_path: Path, meters: Simulator) -> dict[str, str]:
    """A config folder with the consumption monitor enabled and three endpoints; the environment to run in."""
    for folder in ("config/consumption-monitor", "data", "modules"):
        (tmp_path / folder).mkdir(parents=True)
    shutil.copytree(ROOT / "modules" / "consumption_monitor", tmp_path / "modules" / "consumption_monitor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "config" / "nxforge.yaml").write_text("modules:\n  enabled: [consumption-monitor]\n")
    plain, apc, quirks = (meters.url_for(d) for d in ("plain-1", "apc-1", "quirks-1"))
    (tmp_path / "config" / "consumption-monitor" / "racks.yaml").write_text(
        "clients:\n  - {name: acme}\nendpoints:\n"
        f'  - {{id: rack-1, name: Rack 1, client: acme, scrape: {{preset: plain, url: "{plain}", engine: http}}}}\n'
        f'  - {{id: rack-2, name: Rack 2, client: acme, scrape: {{preset: apc-nmc2, url: "{apc}", retries: 0,'
        ' auth: {password: "${APC_PASSWORD}"}}}\n'
        f'  - {{id: rack-3, name: Rack 3, client: acme, scrape: {{url: "{quirks}status.xml", engine: http,'
        ' values: {total_kwh: {selector: "//energy", unit: kWh, unit_from: "@unit"}}}}\n')
    return {**os.environ, "NXFORGE_CONFIG_DIR": str(tmp_path / "config"), "NXFORGE_DATA_DIR": str(tmp_path / "data"),
            "NXFORGE_MODULES_DIR": str(tmp_path / "modules"),
            "NXFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'nxforge.db'}", "APC_PASSWORD": PASSWORD}


def nxforge(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nxforge.cli", *args], env=environ, capture_output=True, text=True,
                          timeout=120)


def test_scrape_test_reads_an_endpoint_through_the_module(site: dict[str, str]) -> None:
    plain = nxforge(site, "scrape", "test", "rack-1")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "rack-1: read with the http engine" in plain.stdout
    assert "total_kwh = 12543.5 kWh    (the page shows: 12543.5)" in plain.stdout
    xml = nxforge(site, "scrape", "test", "rack-3")
    assert "total_kwh = 12543.5 kWh    (the page shows: 12543500 Wh)" in xml.stdout, xml.stdout + xml.stderr
    apc = nxforge(site, "scrape", "test", "rack-2")
    assert apc.returncode == 0 and "login" in apc.stdout, apc.stdout + apc.stderr
    assert PASSWORD not in apc.stdout + apc.stderr


def test_scrape_test_says_what_failed_and_what_to_do(site: dict[str, str]) -> None:
    wrong = nxforge({**site, "APC_PASSWORD": "not-the-password"}, "scrape", "test", "rack-2")
    assert wrong.returncode == 1
    assert "rack-2: auth_failed: login to" in wrong.stdout and "What to do: check the username" in wrong.stdout
    assert "page source: " in wrong.stdout and "not-the-password" not in wrong.stdout
    unknown = nxforge(site, "scrape", "test", "rack-9")
    assert unknown.returncode == 2
    assert "no endpoint `rack-9` (consumption-monitor)" in unknown.stderr


def test_scrape_suggest_prints_the_config_that_reads_the_value(site: dict[str, str], meters: Simulator) -> None:
    found = nxforge(site, "scrape", "suggest", meters.url_for("quirks-1") + "split.html", "--engine", "http")
    assert found.returncode == 0, found.stdout + found.stderr
    first = found.stdout.splitlines()[:2]
    assert first[0] == "1. #energy: `12,543.5kWh` = 12543.5 kWh, next to `Total energy` (score 4.8)"
    assert first[1].startswith('     total_kwh: {"selector": "#energy", "regex": ')
    xml = nxforge(site, "scrape", "suggest", meters.url_for("quirks-1") + "status.xml", "--engine", "http")
    assert '"selector": "//energy"' in xml.stdout and '"unit_from": "@unit"' in xml.stdout, xml.stdout + xml.stderr
    nothing = nxforge(site, "scrape", "suggest", meters.url_for("quirks-1"), "--engine", "http")
    assert nothing.returncode == 1 and "looks like an energy reading" in nothing.stdout
