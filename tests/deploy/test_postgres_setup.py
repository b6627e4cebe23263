"""deploy/postgres/setup.sh on a real server: the printed URL lets the app's engine in as the new role.

The role must be an ordinary login role that owns its database (so module migrations create
tables it owns), the script must be safe to run twice, and the password must survive quoting on
its way through psql and into the URL, which is why the test password is full of awkward characters.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from nxforge.db.engine import create_db_engine
from nxforge.environment import Environment
from nxforge.migrations.runner import migrate_module
from nxforge.platform import Platform
from tests.deploy.conftest import DEPLOY, ROOT, make_site

pytestmark = pytest.mark.postgres
PASSWORD = "p@ss w'rd\\:/?%ü"


def setup(admin_url: str, role: str, database: str) -> str:
    admin = make_url(admin_url)
    environ = {"PATH": "/usr/bin:/bin", "PGHOST": admin.host or "127.0.0.1", "PGPORT": str(admin.port or 5432),
               "PGUSER": admin.username or "postgres", "PGPASSWORD": admin.password or "",
               "NXFORGE_DB_ROLE": role, "NXFORGE_DB_NAME": database, "NXFORGE_DB_PASSWORD": PASSWORD}
    result = subprocess.run(["bash", str(DEPLOY / "postgres" / "setup.sh")], env=environ, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("NXFORGE_DATABASE_URL=postgresql+psycopg://")
    return line.split("=", 1)[1]


@pytest.fixture
def names(postgres_admin_url: str) -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    role, database = f"nxforge_{suffix}", f"nxforge_db_{suffix}"
    yield role, database
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


@pytest.fixture
def password_required(postgres_admin_url: str, names: tuple[str, str]) -> Iterator[bool]:
    """Make the server ask the new role for its password (the test server trusts everyone)."""
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        hba = Path(str(conn.execute(text("SHOW hba_file")).scalar()))
    try:
        original = hba.read_text(encoding="utf-8")
        hba.write_text(f"host all {names[0]} 127.0.0.1/32 scram-sha-256\n" + original, encoding="utf-8")
    except OSError:
        yield False  # a server on another machine (NXFORGE_TEST_DATABASE_URL): cannot change its rules
        admin.dispose()
        return
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_reload_conf()"))
    try:
        yield True
    finally:
        hba.write_text(original, encoding="utf-8")
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_reload_conf()"))
        admin.dispose()


def test_setup_creates_a_role_the_app_connects_as(
    postgres_admin_url: str, names: tuple[str, str], password_required: bool, tmp_path: Path
) -> None:
    role, database = names
    url = setup(postgres_admin_url, role, database)
    assert setup(postgres_admin_url, role, database) == url, "running it twice changes nothing"
    assert make_url(url).password == PASSWORD and make_url(url).username == role

    site = make_site(tmp_path, database_url=url)
    platform = Platform(Environment.from_environ(site.variables))
    try:
        with platform.engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == role
        applied = migrate_module(platform.engine, "hello-module", ROOT / "tests" / "fixtures" / "modules"
                                 / "hello_module" / "migrations")
        assert applied
    finally:
        platform.close()

    admin = create_engine(postgres_admin_url)
    with admin.connect() as conn:
        flags = conn.execute(text("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = :r"),
                             {"r": role}).one()
        owner = conn.execute(text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"),
                             {"d": database}).scalar()
        public_connect = conn.execute(text("SELECT has_database_privilege('public', :d, 'CONNECT')"),
                                      {"d": database}).scalar()
    admin.dispose()
    assert tuple(flags) == (False, False, False)
    assert owner == role and public_connect is False

    if password_required:
        wrong = make_url(url).set(password="wrong").render_as_string(hide_password=False)
        refused = create_db_engine(wrong)
        with pytest.raises(OperationalError):
            refused.connect()
        refused.dispose()
        engine = create_db_engine(url)
        with engine.connect() as conn:
            recorded = text("SELECT count(*) FROM module_migrations WHERE module = 'hello-module'")
            assert conn.execute(recorded).scalar() == len(applied)  # core.notifications has its own rows
        engine.dispose()
