"""Every notebook in notebooks/ runs headless, as a script, on a database with a year of readings (SQLite)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from nxforge_modules.consumption_monitor.archive import archive_dir, archive_months
from nxforge_modules.consumption_monitor.store import ensure_partitions
from nxforge_modules.consumption_monitor.tables import reading
from sqlalchemy import insert

from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import add_endpoint

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
POWER_KW = {"acme-a": ("acme", "A", 2.0), "acme-b": ("acme", "B", 1.5), "globex-a": ("globex", "A", 4.0)}


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Config, data and a SQLite database with 400 days of 2-hourly readings, the closed months archived."""
    base = tmp_path_factory.mktemp("notebooks")
    variables = {"NXFORGE_CONFIG_DIR": str(base / "config"), "NXFORGE_DATA_DIR": str(base / "data"),
                 "NXFORGE_MODULES_DIR": str(MODULES_DIR), "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'nx.db'}"}
    (base / "config").mkdir()
    (base / "data").mkdir()
    env = Environment.from_environ(variables)
    env.core_config_path.write_text(yaml.safe_dump({"timezone": "Europe/Paris", "site_name": "DC1"}))
    platform = Platform(env)
    try:
        enable_module(platform, "consumption-monitor", "tests")
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = now - timedelta(days=400)
        with platform.engine.begin() as conn:
            ensure_partitions(conn, start, now)
        for endpoint_id, (client, feed, kw) in POWER_KW.items():
            add_endpoint(platform.engine, endpoint_id, client, feed=feed)
            rows = [{"endpoint_id": endpoint_id, "read_at": start + timedelta(hours=2 * h), "success": True,
                     "raw_kwh": 10.0 + 2 * kw * h, "corrected_kwh": 10.0 + 2 * kw * h, "power_w": kw * 1000,
                     "reading_key": f"{endpoint_id}@{h}"} for h in range(400 * 12)]
            with platform.engine.begin() as conn:
                conn.execute(insert(reading), rows)
        ctx = platform.context("consumption-monitor")
        # Most months from Parquet, the last ones from the database: the notebooks read both.
        archive_months(platform.engine, archive_dir(ctx.storage), platform.timezone, now - timedelta(days=62))
    finally:
        platform.close()
    return variables


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_headless_without_a_cell_error(notebook: Path, demo_env: dict[str, str], tmp_path: Path) -> None:
    environ = {**os.environ, **demo_env}
    done = subprocess.run([sys.executable, str(notebook)], cwd=tmp_path, env=environ, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Traceback" not in done.stderr, done.stderr[-4000:]


def test_there_are_notebooks() -> None:
    assert {path.stem for path in NOTEBOOKS} >= {"consumption"}


def test_consumption_notebook_numbers(demo_env: dict[str, str], tmp_path: Path) -> None:
    """The monthly table and the what-if come out of the notebook with the readings' energy."""
    script = ("import importlib.util; spec = importlib.util.spec_from_file_location('nb', {path!r}); "
              "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); _, defs = m.app.run(); "
              "import json; w = defs['what_if']; print(json.dumps(dict(zip(w['client'], w['kWh'])))); "
              "print(json.dumps(defs['per_client'].columns))").format(path=str(ROOT / "notebooks" / "consumption.py"))
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={**os.environ, **demo_env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    totals, columns = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert len(columns) == 1 + 13 and columns[0] == "client"  # 13 months by default, oldest first
    assert totals["globex"] / totals["acme"] == pytest.approx(4.0 / 3.5, rel=1e-3)
    assert totals["globex"] > 4.0 * 24 * 360  # about 13 months of 4 kW, archive and database together


def test_nxforge_notebook_serves_the_notebook_with_marimo(demo_env: dict[str, str], tmp_path: Path) -> None:
    """``nxforge notebook consumption --run`` starts marimo on the configured folders; its page answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "nxforge.cli", "notebook", "consumption", "--run", "--headless",
               "--port", str(port)]
    output = (tmp_path / "marimo.log").open("w")
    process = subprocess.Popen(command, cwd=tmp_path, env={**os.environ, **demo_env}, stdout=output,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, answer = time.monotonic() + 90, None
        while time.monotonic() < deadline and answer is None and process.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            except httpx.TransportError:
                time.sleep(0.5)
        assert answer is not None, (tmp_path / "marimo.log").read_text()[-3000:]
        assert answer.status_code == 200 and "marimo" in answer.text.lower()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        output.close()


def test_nxforge_notebook_names_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    from nxforge.cli import main

    assert main(["notebook", "--list"]) == 0 and "consumption" in capsys.readouterr().out.split()
    assert main(["notebook", "no-such-notebook"]) == 1
    assert "there are: consumption" in capsys.readouterr().err
    assert main(["notebook", "consumption", "--run", "--print-command"]) == 0
    assert capsys.readouterr().out.split()[-3:] == [
        "marimo", "run", str(ROOT / "notebooks" / "consumption.py")]
