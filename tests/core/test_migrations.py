"""Migrations on real SQLite and PostgreSQL: order, dialect files, DO blocks, checksums, rollback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from nxforge.migrations.runner import MigrationError, applied_migrations, migrate_module, rollback_module
from tests.conftest import FIXTURES

HELLO_MIGRATIONS = FIXTURES / "modules" / "hello_module" / "migrations"


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(HELLO_MIGRATIONS, target)
    return target


def test_applies_in_order_once_with_dialect_files(engine: Engine, migrations_dir: Path) -> None:
    assert migrate_module(engine, "hello-module", migrations_dir) == ["001_tables", "002_extension"]
    assert migrate_module(engine, "hello-module", migrations_dir) == []
    tables = set(inspect(engine).get_table_names())
    assert {"hm_greetings", "hm_feature_flags", "module_migrations"} <= tables
    with engine.connect() as conn:
        # The DO $$ block (PostgreSQL) or the trigger (SQLite) ran whole, semicolons and all.
        note = conn.execute(text("SELECT note FROM hm_feature_flags WHERE name = 'plain'")).scalar_one()
    assert note == ("set; by trigger" if engine.dialect.name == "sqlite" else "a;b")
    assert set(applied_migrations(engine, "hello-module")) == {"001_tables", "002_extension"}


def test_edited_applied_migration_is_an_error(engine: Engine, migrations_dir: Path) -> None:
    migrate_module(engine, "hello-module", migrations_dir)
    first = migrations_dir / ("001_tables.postgresql.sql" if engine.dialect.name == "postgresql" else "001_tables.sql")
    first.write_text(first.read_text() + "\n-- edited afterwards\n")
    with pytest.raises(MigrationError, match="edited after it was applied"):
        migrate_module(engine, "hello-module", migrations_dir)


def test_failing_migration_rolls_back_the_whole_file(engine: Engine, migrations_dir: Path) -> None:
    (migrations_dir / "003_broken.sql").write_text(
        "CREATE TABLE hm_half (id INTEGER PRIMARY KEY);\nINSERT INTO hm_nowhere VALUES (1);\n"
    )
    with pytest.raises(MigrationError, match=r"003_broken.sql: statement 2 of 2 failed"):
        migrate_module(engine, "hello-module", migrations_dir)
    assert "hm_half" not in inspect(engine).get_table_names()
    assert "003_broken" not in applied_migrations(engine, "hello-module")
    # All or none: the earlier files of the same attempt are rolled back with it.
    assert applied_migrations(engine, "hello-module") == {}
    assert "hm_greetings" not in inspect(engine).get_table_names()


def test_rollback_runs_down_files_newest_first(engine: Engine, migrations_dir: Path) -> None:
    migrate_module(engine, "hello-module", migrations_dir)
    assert rollback_module(engine, "hello-module", migrations_dir) == ["002_extension", "001_tables"]
    tables = set(inspect(engine).get_table_names())
    assert not {"hm_greetings", "hm_feature_flags"} & tables
    assert applied_migrations(engine, "hello-module") == {}


def test_badly_named_file_is_refused(engine: Engine, migrations_dir: Path) -> None:
    (migrations_dir / "tables.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNN_name"):
        migrate_module(engine, "hello-module", migrations_dir)
