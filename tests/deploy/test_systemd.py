"""deploy/systemd: units systemd accepts, whose ExecStart lines really start the collector and the app."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import DEPLOY, ROOT, Site, exec_start, installed, make_site, read_unit, stop, wait_for
from tests.postgres_server import free_port

UNITS = ["nxforge-collector.service", "nxforge-app.service"]


@pytest.mark.parametrize("unit", UNITS)
def test_unit_is_well_formed(unit: str, tmp_path: Path) -> None:
    parsed = read_unit(DEPLOY / "systemd" / unit)
    service = parsed["Service"]
    assert service["User"] == "nxforge" and service["WorkingDirectory"] == "/opt/nxforge"
    assert service["EnvironmentFile"] == "/etc/nxforge/nxforge.env"
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    program = Path(installed(shlex.split(service["ExecStart"])[0], make_site(tmp_path)))
    assert program.is_file(), f"{program} missing: run scripts/setup.sh"


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify(unit: str, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (it comes with systemd); the unit was parsed above")
    site = make_site(tmp_path)
    copy = tmp_path / unit
    copy.write_text(installed((DEPLOY / "systemd" / unit).read_text(encoding="utf-8"), site), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    about_ours = [line for line in result.stderr.splitlines() if unit in line]
    assert result.returncode == 0 and not about_ours, result.stderr


def test_env_example_sets_what_the_units_need() -> None:
    lines = (DEPLOY / "systemd" / "nxforge.env.example").read_text(encoding="utf-8").splitlines()
    keys = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    assert {"NXFORGE_DATABASE_URL", "NXFORGE_CONFIG_DIR", "NXFORGE_DATA_DIR", "NXFORGE_MODULES_DIR"} <= keys
    assert all(" " not in line and '"' not in line for line in lines if line and not line.startswith("#"))


def test_collector_daemon_serves_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    site: Site = make_site(tmp_path)
    port = free_port()
    argv = exec_start("nxforge-collector.service", site, {"--metrics-port": str(port)})
    process = subprocess.Popen(argv, cwd=ROOT, env=site.environ(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        body = wait_for(f"http://127.0.0.1:{port}/metrics").text
        assert "nxforge_job_runs" in body and "nxforge_scrape_duration_seconds" in body
    finally:
        status = stop(process)
    assert status == 0, process.stderr.read().decode() if process.stderr else status


def test_app_unit_serves_streamlit(app_server: tuple[int, Site]) -> None:
    port, _ = app_server
    assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).text == "ok"
    assert "<title>" in httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
