"""Enabling applies all of a module's pending migrations or none, and leaves the module as it was.

On both dialects one transaction holds every pending file (PostgreSQL's DDL is transactional, and
SQLite's is under the engine's explicit BEGIN IMMEDIATE: tables, triggers, indexes all roll back).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect, select, text

from nxforge.db.schema import events, module_migrations
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import LifecycleError, disable_module, enable_module, list_modules
from nxforge.platform import Platform
from tests.conftest import copy_fixture_module

ROOT = Path(__file__).resolve().parents[2]
BAD = "CREATE TABLE hm_x (id INTEGER);\nCREATE INDEX hm_x_id ON hm_x (id);\nTHIS IS NOT SQL;\n"


def write_core(env: Environment, enabled: list[str]) -> None:
    env.core_config_path.write_text(yaml.safe_dump(
        {"modules": {"enabled": enabled, "settings": {"hello-module": {"token": "${HELLO_TOKEN}"}}}}))


@pytest.fixture
def platform(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("HELLO_TOKEN", "t0ken")
    copy_fixture_module(nx_env, "hello_module")
    write_core(nx_env, [])
    created = Platform(nx_env)
    yield created
    created.close()
    sys.modules.pop("nxforge_modules.hello_module", None)


def _hm_tables(platform: Platform) -> set[str]:
    return {name for name in inspect(platform.engine).get_table_names() if name.startswith("hm_")}


def _applied(platform: Platform) -> list[str]:
    with platform.engine.connect() as conn:
        return sorted(conn.execute(select(module_migrations.c.name)
                                   .where(module_migrations.c.module == "hello-module")).scalars())


def test_a_failing_migration_applies_none_of_the_attempt(platform: Platform) -> None:
    migrations = platform.module("hello-module").migrations_dir
    (migrations / "003_bad.sql").write_text(BAD)
    none_applied = r"(?s)003_bad\.sql: statement 3 of 3 .*nothing of this attempt was applied"
    with pytest.raises(LifecycleError, match=none_applied):
        enable_module(platform, "hello-module", "tester")
    assert _hm_tables(platform) == set() and _applied(platform) == []  # 001 and 002 (with its trigger) rolled back
    assert platform.enabled_names == []
    assert {row.name: row.status for row in list_modules(platform)}["hello-module"] == "failed"
    with platform.engine.connect() as conn:
        assert "module.enable_failed" in set(conn.execute(select(events.c.kind)).scalars())

    (migrations / "003_bad.sql").write_text("CREATE TABLE hm_x (id INTEGER);\n")
    assert enable_module(platform, "hello-module", "tester") == ["001_tables", "002_extension", "003_bad"]
    assert {"hm_greetings", "hm_feature_flags", "hm_x"} <= _hm_tables(platform)


def test_an_upgrade_that_fails_leaves_the_module_as_it_was(platform: Platform) -> None:
    enable_module(platform, "hello-module", "tester")
    with platform.engine.begin() as conn:
        conn.execute(text("INSERT INTO hm_feature_flags (name) VALUES ('kept')"))
    disable_module(platform, "hello-module", "tester")
    tables_before = _hm_tables(platform)
    migrations = platform.module("hello-module").migrations_dir
    (migrations / "003_more.sql").write_text("CREATE TABLE hm_more (id INTEGER);\nALTER TABLE hm_more ADD note TEXT;\n")
    (migrations / "004_bad.sql").write_text(BAD)
    with pytest.raises(LifecycleError, match=r"004_bad\.sql"):
        enable_module(platform, "hello-module", "tester")
    assert _applied(platform) == ["001_tables", "002_extension"] and _hm_tables(platform) == tables_before
    with platform.engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT name FROM hm_feature_flags")).scalars()) == ["kept", "plain"]
    assert platform.enabled_names == []


def test_the_collector_migrates_all_or_none_and_runs_the_other_modules(platform: Platform, tmp_path: Path) -> None:
    env = platform.env
    (platform.module("hello-module").migrations_dir / "003_bad.sql").write_text(BAD)
    other = env.modules_dir / "other"
    other.mkdir()
    (other / "__init__.py").write_text("")
    (other / "jobs.py").write_text("def work(ctx):\n    return {'done': True}\n")
    (other / "manifest.yaml").write_text(yaml.safe_dump({
        "name": "other", "version": "1.0.0", "display_name": "Other", "description": "runs", "author": "tests",
        "license": "MIT", "package": "other", "requires": {"core": ">=0.1,<1"},
        "jobs": {"work": {"title": "Work", "handler": "other.jobs:work", "schedule": "1h"}}}))
    write_core(env, ["hello-module", "other"])  # enabled by hand: the collector migrates them
    variables = {"NXFORGE_CONFIG_DIR": str(env.config_dir), "NXFORGE_DATA_DIR": str(env.data_dir),
                 "NXFORGE_MODULES_DIR": str(env.modules_dir), "NXFORGE_DATABASE_URL": env.database_url(),
                 "HELLO_TOKEN": "t0ken", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, str(ROOT / "collector.py"), "--once"], env=variables, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "module hello-module is not used: its migrations cannot be applied" in output
    assert "other/work ok" in result.stdout and "hello-module/" not in result.stdout
    assert _hm_tables(platform) == set() and _applied(platform) == []
