"""Shared fixtures: a real SQLite file and a real PostgreSQL server for every database test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from nxforge.db.engine import create_db_engine
from nxforge.environment import Environment
from tests.postgres_server import PostgresServer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL on a real PostgreSQL server: ``NXFORGE_TEST_DATABASE_URL`` or one we start."""
    given = os.environ.get("NXFORGE_TEST_DATABASE_URL")
    if given:
        yield given
        return
    server = PostgresServer().start()
    try:
        yield server.url()
    finally:
        server.stop()


def _fresh_postgres_database(admin_url: str) -> tuple[str, str]:
    name = f"nx_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(make_url(admin_url).set(database=name).render_as_string(hide_password=False)), name


def _drop_postgres_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nxforge.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url, name = _fresh_postgres_database(admin_url)
    try:
        yield url
    finally:
        _drop_postgres_database(admin_url, name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database (SQLite and PostgreSQL)."""
    created = create_db_engine(db_url)
    yield created
    created.dispose()


@pytest.fixture
def nx_env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Environment:
    """A whole NxForge environment in a temporary folder: config, data, modules, database."""
    for folder in ("config", "data", "modules"):
        (tmp_path / folder).mkdir(exist_ok=True)
    variables = {
        "NXFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "NXFORGE_DATA_DIR": str(tmp_path / "data"),
        "NXFORGE_MODULES_DIR": str(tmp_path / "modules"),
        "NXFORGE_DATABASE_URL": db_url,
    }
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    return Environment.from_environ(variables)


def copy_fixture_module(env: Environment, name: str) -> Path:
    """Copy ``tests/fixtures/modules/<name>`` into the environment's modules folder."""
    target = env.modules_dir / name
    shutil.copytree(FIXTURES / "modules" / name, target)
    return target
