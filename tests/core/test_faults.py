"""Faults during collection: the database going away mid-run and coming back, and a full disk.

- After the database comes back, the flush of the spool releases the claims of the endpoints read
  into it (they were held for the claim lease, ten minutes, before), and the run that finished
  while the database was down is recorded as it ended, never later reported as killed.
- A full disk: readings go to the spool's fallback folder when the data folder's disk is full;
  when neither can take them the collector says so in one error line and exits 4; what was kept
  is stored by the next run. The data folder is a real size-limited tmpfs (this needs root).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nxforge.collector.runner import Collector
from nxforge.environment import Environment
from nxforge.platform import Platform
from nxforge.simulator import SimClock, Simulator
from tests.core.collector_site import CM, endpoint_item, good_devices, make_site
from tests.modules.consumption_monitor.conftest import utc
from tests.postgres_server import PostgresServer
from tests.scale.helpers import fresh_database

T0 = utc(2026, 4, 14, 9)
HOUR = timedelta(hours=1)


class Database:
    """A database the test can take away and give back: a server stopped, or a SQLite file moved away and a folder
    put in its place (SQLite cannot open it; a missing file would be created afresh)."""

    def __init__(self, dialect: str, root: Path) -> None:
        self.dialect = dialect
        self.server: PostgresServer | None = None
        if dialect == "sqlite":
            self.folder = root / "db"
            self.folder.mkdir(parents=True)
            self.url = f"sqlite:///{self.folder / 'nxforge.db'}"
        else:
            self.server = PostgresServer().start()
            self.url = fresh_database(self.server.url())

    def down(self, platform: Platform | None = None) -> None:
        if platform is not None:
            platform.engine.dispose()  # pooled SQLite connections would keep the renamed file open
        if self.server is not None:
            self.server.pg_ctl("stop")
            return
        away = self.folder.with_name("db-away")
        away.mkdir()
        for path in self.folder.glob("nxforge.db*"):
            path.rename(away / path.name)
        (self.folder / "nxforge.db").mkdir()

    def up(self) -> None:
        if self.server is not None:
            self.server.pg_ctl("start")
            return
        away = self.folder.with_name("db-away")
        (self.folder / "nxforge.db").rmdir()
        for path in away.iterdir():
            path.rename(self.folder / path.name)
        away.rmdir()

    def rows(self, query: str) -> list[tuple[object, ...]]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(query))]
        finally:
            engine.dispose()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database this test may stop and start, on SQLite and PostgreSQL."""
    db = Database(request.param, tmp_path)
    try:
        yield db
    finally:
        db.close()


def test_the_flush_releases_claims_and_run_states_stay_true(database: Database, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from nxforge_modules.consumption_monitor import collect

    devices = good_devices(4)
    clock = SimClock(start=T0, frozen=True)
    with Simulator(devices, clock=clock) as sim:
        site = make_site(tmp_path / "site", database.url, settings={"claim_batch": 2})
        site.write_endpoints("site.yaml", [endpoint_item(sim, d.id) for d in devices])
        platform = Platform(Environment.from_environ(site.variables), clock=clock.now)
        try:
            assert [r.status for r in Collector(platform).run_due()] == ["ok"]

            # T0+1h: the database goes away once the first batch of two is claimed: both are read into the spool
            # (claimed), the other two are read offline into it too; the run completes but cannot record its end.
            clock.set(T0 + HOUR)
            real_claim = collect.claims.claim_due

            def claim_then_down(*args: object, **kwargs: object) -> list[str]:
                claimed = real_claim(*args, **kwargs)  # type: ignore[arg-type]
                database.down(platform)
                return claimed

            monkeypatch.setattr(collect.claims, "claim_due", claim_then_down)
            (outage,) = Collector(platform).run_due()
            monkeypatch.setattr(collect.claims, "claim_due", real_claim)
            assert outage.status == "ok" and outage.summary["spooled"] == 4
            database.up()
            claimed = database.rows("SELECT id FROM cm_endpoint WHERE claimed_by IS NOT NULL")
            assert len(claimed) == 2  # held by the run that went offline
            assert database.rows(f"SELECT status FROM executions WHERE id = {outage.execution_id}") == [("running",)]

            # A minute later, the database is back: the flush stores the four and releases the two claims.
            clock.set(T0 + HOUR + timedelta(minutes=1))
            (back,) = Collector(platform).run_due()
            assert back.status == "ok" and back.summary["flushed"] == 4 and back.summary["total"] == 0
            assert database.rows("SELECT id FROM cm_endpoint WHERE claimed_by IS NOT NULL") == []
            # The outage run is recorded as it ended, and stays so once it would count as stale.
            assert database.rows(f"SELECT status FROM executions WHERE id = {outage.execution_id}") == [("ok",)]
            clock.set(T0 + HOUR + timedelta(minutes=30))
            Collector(platform).run_due()
            statuses = {row[0] for row in database.rows("SELECT status FROM executions")}
            assert statuses == {"ok"}
            due = dict(database.rows("SELECT id, next_due_at FROM cm_endpoint"))
            per_endpoint = database.rows("SELECT endpoint_id, count(*) FROM cm_reading GROUP BY endpoint_id")
        finally:
            platform.close()
    assert sorted(per_endpoint) == [(d.id, 2) for d in devices]
    assert all(str(value).startswith("2026-04-14 11:00") for value in due.values()), due


def _mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")


def _fill(folder: Path) -> None:
    """Write until the file system says it is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


@pytest.fixture
def small_disks(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Two 1 MiB tmpfs folders: the site's data folder and a temporary folder; unmounted at the end."""
    data, temp = tmp_path / "data-disk", tmp_path / "temp-disk"
    _mount_tmpfs(data, "1m")
    try:
        _mount_tmpfs(temp, "1m")
    except BaseException:
        subprocess.run(["umount", str(data)], check=False)
        raise
    try:
        yield data, temp
    finally:
        for folder in (data, temp):
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_one_error_line_exit_4_and_nothing_kept_is_lost(database: Database, tmp_path: Path,
                                                                      small_disks: tuple[Path, Path]) -> None:
    data_disk, temp_disk = small_disks
    roomy_temp = tmp_path / "roomy-temp"
    roomy_temp.mkdir()
    devices = good_devices(2)
    named = [arg for d in devices for arg in ("--endpoint", d.id)]
    with Simulator(devices) as sim:
        site = make_site(tmp_path / "site", database.url)
        site.variables["NXFORGE_DATA_DIR"] = str(data_disk)
        site.write_endpoints("site.yaml", [endpoint_item(sim, d.id) for d in devices])
        site.variables["TMPDIR"] = str(roomy_temp)
        first = site.run_once()
        assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]

        # The data disk fills up: with the database there, the readings are stored and nothing else matters.
        _fill(data_disk)
        stored = site.run_once("--job", "collect", *named)
        output = stored.stdout + stored.stderr
        assert stored.returncode == 0 and "Traceback" not in output, output[-3000:]

        # The database goes away too: readings go to the fallback folder.
        database.down()
        fallback = site.run_once("--job", "collect", *named)
        output = fallback.stdout + fallback.stderr
        assert fallback.returncode == 3, output[-3000:]
        assert "reading(s) spooled to" in output and "instead" in output and "Traceback" not in output
        kept = list(roomy_temp.glob("nxforge-spool-*/*/readings.jsonl"))
        assert len(kept) == 1 and len(kept[0].read_text().splitlines()) == 2

        # Neither folder can take them: one clear error line, exit 4, no traceback.
        _fill(temp_disk)
        site.variables["TMPDIR"] = str(temp_disk)
        full = site.run_once("--job", "collect", *named)
        output = full.stdout + full.stderr
        assert full.returncode == 4, output[-3000:]
        assert "Traceback" not in output
        errors = [line for line in output.splitlines() if "disk full or spool unwritable" in line and "ERROR" in line]
        assert len(errors) == 1 and "2 reading(s) could not be kept" in errors[0], output[-3000:]

        # Space again, database back: what was kept in the fallback is stored.
        (data_disk / "filler").unlink()
        database.up()
        site.variables["TMPDIR"] = str(roomy_temp)
        back = site.run_once("--job", "collect")
        assert back.returncode == 0, (back.stdout + back.stderr)[-3000:]
        assert "flushed 2 spooled reading(s)" in back.stdout + back.stderr
        assert not kept[0].exists()
    per_endpoint = database.rows("SELECT endpoint_id, count(*) FROM cm_reading GROUP BY endpoint_id")
    assert sorted(per_endpoint) == [(d.id, 3) for d in devices]  # first run, disk full, kept in the fallback
    assert not (data_disk / "modules" / CM / "spool" / "readings.jsonl").exists()
