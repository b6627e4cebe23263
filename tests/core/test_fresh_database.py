"""A fresh database is migrated by the collector and the app before use; exit 3 only when it cannot be reached."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nxforge.environment import Environment
from nxforge.simulator import Simulator
from tests.core.collector_site import CM, good_devices, make_site
from tests.modules.consumption_monitor.test_isolation import write_good


def _readings(url: str) -> dict[str, bool]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT endpoint_id, success FROM cm_reading")).fetchall()
    finally:
        engine.dispose()
    return {row.endpoint_id: bool(row.success) for row in rows}


def test_the_collector_migrates_a_fresh_database_first(db_url: str, tmp_path: Path) -> None:
    devices = good_devices(2)
    with Simulator(devices) as sim:
        site = make_site(tmp_path / "site", db_url)  # enabled in nxforge.yaml; `nxforge migrate` never ran
        write_good(site.endpoints_dir, sim.url_for)
        result = site.run_once()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert f"database migrated before use: {CM}:" in output
    assert "no such table" not in output and "does not exist" not in output and "unreachable" not in output
    assert _readings(db_url) == {"good-0": True, "good-1": True}
    spool = tmp_path / "site" / "data" / "modules" / CM / "spool"
    assert not any(spool.glob("*.json*")) if spool.exists() else True
    again = site.run_once("--job", "collect")  # nothing left to migrate: no such line
    assert again.returncode == 0 and "database migrated before use" not in again.stdout + again.stderr


def test_the_app_migrates_a_fresh_database_first(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    site = make_site(tmp_path / "site", db_url)
    for key, value in site.variables.items():
        monkeypatch.setenv(key, value)
    from nxforge.app import resources

    env = Environment.from_environ()
    # On the platform's own logger: an earlier CLI run in this process may have set the nxforge level higher.
    with caplog.at_level("INFO", logger="nxforge.platform"):
        platform = resources._platform_for.__wrapped__(  # type: ignore[attr-defined]
            str(env.config_dir), str(env.data_dir), str(env.modules_dir), env.database_url_override)
    try:
        assert f"database migrated before use: {CM}:" in caplog.text
        with platform.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM cm_endpoint")).scalar_one() == 0
    finally:
        platform.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_exit_3_only_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nx:nx@127.0.0.1:{_closed_port()}/nowhere?connect_timeout=2"
    devices = good_devices(2)
    with Simulator(devices) as sim:
        site = make_site(tmp_path / "site", url)
        write_good(site.endpoints_dir, sim.url_for)
        result = site.run_once()
    output = result.stdout + result.stderr
    assert result.returncode == 3, output[-3000:]
    assert "Traceback" not in output and "database unreachable" in output
    # The collect job works offline: both readings wait in the spool for the next run that reaches the database.
    spool = tmp_path / "site" / "data" / "modules" / CM / "spool" / "readings.jsonl"
    assert len(spool.read_text().splitlines()) == 2
