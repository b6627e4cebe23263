"""deploy/backup.sh and deploy/restore.sh: a real round trip on SQLite and on PostgreSQL.

Each test writes data, backs up, damages the database and the config, restores, and checks the
data and the config are back exactly, through the scripts as an operator runs them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.deploy.conftest import DEPLOY, ROOT, Site, make_site
from tests.postgres_server import pg_bin


def run(script: str, site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {**site.environ(), "PG_BIN": str(pg_bin()) if site.variables["NXFORGE_DATABASE_URL"].startswith(
        "postgresql") else ""}
    result = subprocess.run(["bash", str(DEPLOY / script), *args], cwd=ROOT, env=environ, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def seed(url: str, rows: list[str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS cm_readings (endpoint TEXT NOT NULL, kwh REAL NOT NULL)"))
        conn.execute(text("DELETE FROM cm_readings"))
        for index, endpoint in enumerate(rows):
            conn.execute(text("INSERT INTO cm_readings VALUES (:e, :k)"), {"e": endpoint, "k": 1000.5 + index})
    engine.dispose()


def contents(url: str) -> list[tuple[str, float]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = [(str(e), float(k)) for e, k in conn.execute(text("SELECT endpoint, kwh FROM cm_readings ORDER BY 1"))]
    engine.dispose()
    return found


def round_trip(site: Site, tmp_path: Path, dump_name: str) -> None:
    url = site.variables["NXFORGE_DATABASE_URL"]
    seed(url, ["pdu-a1", "pdu-b1"])
    (site.config_dir / "secrets.yaml").write_text("APC_PASSWORD: s3cret\n", encoding="utf-8")
    spool = site.data_dir / "modules" / "consumption-monitor" / "spool.jsonl"
    spool.parent.mkdir(parents=True)
    spool.write_text('{"endpoint": "pdu-a1"}\n', encoding="utf-8")
    before = contents(url)

    backup = run("backup.sh", site, str(tmp_path / "backups"))
    assert "secrets.yaml" in backup.stderr
    [folder] = (tmp_path / "backups").iterdir()
    assert {p.name for p in folder.iterdir()} == {dump_name, "config.tar.gz", "module-data.tar.gz", "SHA256SUMS"}
    assert oct(folder.stat().st_mode & 0o777) == "0o700"

    seed(url, ["wrong"])
    (site.config_dir / "nxforge.yaml").write_text("site_name: damaged\n", encoding="utf-8")
    (site.config_dir / "secrets.yaml").unlink()
    spool.unlink()

    run("restore.sh", site, str(folder), "--yes")
    assert contents(url) == before
    assert "deploy test" in (site.config_dir / "nxforge.yaml").read_text(encoding="utf-8")
    assert (site.config_dir / "secrets.yaml").read_text(encoding="utf-8") == "APC_PASSWORD: s3cret\n"
    assert spool.is_file()
    [aside] = site.root.glob("config.before-restore-*")
    assert "damaged" in (aside / "nxforge.yaml").read_text(encoding="utf-8")


def test_sqlite_round_trip(tmp_path: Path) -> None:
    round_trip(make_site(tmp_path / "site"), tmp_path, "database.sqlite3")


def test_restore_refuses_a_tampered_backup(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    seed(site.variables["NXFORGE_DATABASE_URL"], ["pdu-a1"])
    run("backup.sh", site, str(tmp_path / "backups"))
    [folder] = (tmp_path / "backups").iterdir()
    with (folder / "config.tar.gz").open("ab") as handle:
        handle.write(b"x")
    result = subprocess.run(["bash", str(DEPLOY / "restore.sh"), str(folder), "--yes"], cwd=ROOT,
                            env=site.environ(), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "checksums" in result.stderr


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    name = f"nx_backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_round_trip(tmp_path: Path, postgres_database: str) -> None:
    assert os.access(pg_bin() / "pg_dump", os.X_OK) and os.access(pg_bin() / "pg_restore", os.X_OK)
    round_trip(make_site(tmp_path / "site", database_url=postgres_database), tmp_path, "database.pgdump")
