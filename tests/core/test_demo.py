"""``nxforge demo --once``: the shipped config, the simulator, both modules' demo hooks and one collection."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[2]


def test_demo_once_collects_from_every_simulated_device(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("demo.yaml", "secrets.yaml"))
    variables = {
        **os.environ,
        "NXFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "NXFORGE_DATA_DIR": str(tmp_path / "data"),
        "NXFORGE_MODULES_DIR": str(ROOT / "modules"),
    }
    variables.pop("NXFORGE_DATABASE_URL", None)
    command = [sys.executable, "-m", "nxforge.cli", "demo", "--once", "--no-app", "--devices", "16",
               "--sim-port", "0", "--sim-tls-port", "0"]
    result = subprocess.run(command, cwd=tmp_path, env=variables, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "consumption-monitor/collect ok {'total': 16, 'ok': 16, 'failed': 0" in result.stdout
    assert "temperature-monitor/collect ok" in result.stdout
    assert (tmp_path / "config" / "consumption-monitor" / "demo.yaml").exists()
    assert "NXFORGE_DEMO_PASSWORD" in (tmp_path / "config" / "secrets.yaml").read_text()
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'nxforge.db'}")
    with engine.connect() as conn:
        readings = pl.read_database("SELECT endpoint_id, engine, success FROM cm_reading", conn)
    engine.dispose()
    live = readings.filter(pl.col("engine") != "demo-history")
    assert live.height == 16 and live["success"].cast(pl.Boolean).all()
    assert readings.filter(pl.col("engine") == "demo-history").height >= 16 * 24 * 34  # five weeks, hourly
    billing = subprocess.run(
        [sys.executable, "-m", "nxforge.cli", "billing", "--month", "2026-10", "--format", "csv"],
        cwd=tmp_path, env=variables, capture_output=True, text=True, timeout=120,
    )
    assert billing.returncode == 0, billing.stderr
    assert billing.stdout.count("\n") >= 17  # a header and one row per endpoint
