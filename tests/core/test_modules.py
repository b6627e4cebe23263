"""The module system: discovery without imports, lifecycle with dependency checks, ZIP install."""

from __future__ import annotations

import io
import stat
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect, select

from nxforge.db.schema import audit_log, modules_table
from nxforge.environment import Environment
from nxforge.module_admin.install import install_zip
from nxforge.module_admin.lifecycle import (
    LifecycleError,
    disable_module,
    enable_module,
    list_modules,
    uninstall_module,
)
from nxforge.module_system.discovery import discover_modules
from nxforge.module_system.manifest import Manifest, manifest_json_schema
from nxforge.platform import Platform
from tests.conftest import FIXTURES, copy_fixture_module


def write_core_config(env: Environment, enabled: list[str], token: str | None = "${HELLO_TOKEN}") -> None:
    settings = {"hello-module": {"token": token}} if token else {}
    env.core_config_path.write_text(
        "# site configuration; this comment must survive enable/disable\n"
        + yaml.safe_dump({"timezone": "Europe/Paris", "modules": {"enabled": enabled, "settings": settings}})
    )


@pytest.fixture
def platform(nx_env: Environment) -> Platform:
    for name in ("hello_module", "needs_hello", "broken_module"):
        copy_fixture_module(nx_env, name)
    write_core_config(nx_env, [])
    created = Platform(nx_env)
    yield created
    created.close()
    sys.modules.pop("nxforge_modules.hello_module", None)


def test_discovery_reports_broken_module_and_keeps_others(tmp_path: Path) -> None:
    modules = {info.name: info for info in discover_modules(FIXTURES / "modules")}
    assert modules["hello-module"].ok and modules["needs-hello"].ok
    broken = modules["broken-module"]
    assert not broken.ok
    assert broken.error is not None
    assert "colour: unknown field" in broken.error
    assert "jobs.run.retries" in broken.error and "manifest.yaml:12" in broken.error
    assert "broken_module" not in sys.modules  # discovery never imports module code


def test_manifest_json_schema_names_the_fields() -> None:
    schema = manifest_json_schema()
    assert {"name", "version", "jobs", "pages", "settings", "permissions"} <= set(schema["properties"])


def test_manifest_rejects_duplicate_pages_and_foreign_handlers() -> None:
    base = yaml.safe_load((FIXTURES / "modules" / "hello_module" / "manifest.yaml").read_text())
    duplicate = {**base, "pages": base["pages"] * 2}
    with pytest.raises(ValueError, match="page names must be unique"):
        Manifest.model_validate(duplicate)
    foreign = {**base, "jobs": {"x": {"title": "X", "handler": "other_pkg.jobs:run"}}}
    with pytest.raises(ValueError, match="own package"):
        Manifest.model_validate(foreign)


def test_setting_needs_default_or_required() -> None:
    base = yaml.safe_load((FIXTURES / "modules" / "hello_module" / "manifest.yaml").read_text())
    base["settings"]["bad"] = {"type": "string", "label": "No default"}
    with pytest.raises(ValueError, match="default or mark it required"):
        Manifest.model_validate(base)


def test_enable_disable_lifecycle_with_dependencies(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELLO_TOKEN", "t0ken")
    with pytest.raises(LifecycleError, match="requires module 'hello-module', which is disabled"):
        enable_module(platform, "needs-hello", "tester")

    applied = enable_module(platform, "hello-module", "tester")
    assert applied == ["001_tables", "002_extension"]
    assert "hm_greetings" in inspect(platform.engine).get_table_names()
    enable_module(platform, "needs-hello", "tester")
    assert platform.enabled_names == ["hello-module", "needs-hello"]
    assert "this comment must survive" in platform.env.core_config_path.read_text()

    with pytest.raises(LifecycleError, match="needs-hello require it"):
        disable_module(platform, "hello-module", "tester")
    disable_module(platform, "needs-hello", "tester")
    disable_module(platform, "hello-module", "tester")
    assert platform.enabled_names == []

    statuses = {row.name: row.status for row in list_modules(platform)}
    assert statuses == {"broken-module": "broken", "hello-module": "disabled", "needs-hello": "disabled"}
    with platform.engine.connect() as conn:
        actions = [row.action for row in conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))]
    assert actions == ["module.enable", "module.enable", "module.disable", "module.disable"]


def test_required_setting_must_be_set(platform: Platform) -> None:
    write_core_config(platform.env, [], token=None)
    platform.reload()
    with pytest.raises(LifecycleError, match="setting 'token' is required"):
        enable_module(platform, "hello-module", "tester")


def test_cycle_is_refused(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest_path = platform.env.modules_dir / "hello_module" / "manifest.yaml"
    data = yaml.safe_load(manifest_path.read_text())
    data["requires"]["modules"] = ["needs-hello"]
    manifest_path.write_text(yaml.safe_dump(data))
    platform.reload()
    with pytest.raises(LifecycleError, match=r"cycle: .*hello-module"):
        enable_module(platform, "hello-module", "tester")


def test_failed_migration_leaves_module_disabled(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELLO_TOKEN", "t0ken")
    (platform.env.modules_dir / "hello_module" / "migrations" / "003_bad.sql").write_text(
        "CREATE TABLE hm_x (id INTEGER);\nTHIS IS NOT SQL;\n"
    )
    with pytest.raises(LifecycleError, match=r"migration failed: 003_bad\.sql: statement 2 of 2"):
        enable_module(platform, "hello-module", "tester")
    assert platform.enabled_names == []
    assert "hm_x" not in inspect(platform.engine).get_table_names()
    row = {r.name: r for r in list_modules(platform)}["hello-module"]
    assert row.status == "failed" and row.error and "003_bad.sql" in row.error


def test_uninstall_runs_down_migrations_and_removes_files(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELLO_TOKEN", "t0ken")
    enable_module(platform, "hello-module", "tester")
    with pytest.raises(LifecycleError, match="it is enabled; disable it first"):
        uninstall_module(platform, "hello-module", "tester")
    disable_module(platform, "hello-module", "tester")
    with pytest.raises(LifecycleError, match="needs-hello require it"):
        uninstall_module(platform, "hello-module", "tester")
    uninstall_module(platform, "needs-hello", "tester")
    assert uninstall_module(platform, "hello-module", "tester") == ["002_extension", "001_tables"]
    assert not (platform.env.modules_dir / "hello_module").exists()
    assert "hm_greetings" not in inspect(platform.engine).get_table_names()
    with platform.engine.connect() as conn:
        assert conn.execute(select(modules_table.c.name)).all() == []


def make_zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def module_entries(top: str = "greeter") -> dict[str, bytes]:
    manifest = {
        "name": "greeter",
        "version": "0.3.0",
        "display_name": "Greeter",
        "description": "Installed from a ZIP.",
        "author": "someone",
        "package": "greeter",
        "permissions": ["network:outbound"],
    }
    return {f"{top}/manifest.yaml": yaml.safe_dump(manifest).encode(), f"{top}/__init__.py": b""}


def test_install_zip_then_uninstall(platform: Platform, tmp_path: Path) -> None:
    archive = tmp_path / "greeter.zip"
    archive.write_bytes(make_zip(module_entries()))
    info = install_zip(platform, archive, "tester")
    assert info.name == "greeter"
    assert (platform.env.modules_dir / "greeter" / "manifest.yaml").exists()
    assert {row.name: row.status for row in list_modules(platform)}["greeter"] == "disabled"
    with pytest.raises(LifecycleError, match="already installed"):
        install_zip(platform, archive, "tester")
    uninstall_module(platform, "greeter", "tester")
    assert not (platform.env.modules_dir / "greeter").exists()


@pytest.mark.parametrize(
    ("entries", "symlink", "message"),
    [
        ({"/abs/manifest.yaml": b"x"}, None, "absolute path"),
        ({"greeter/../../evil.py": b"x", **module_entries()}, None, "climbs out"),
        (module_entries(), "greeter/link", "symbolic link"),
        ({"greeter/__init__.py": b""}, None, "no greeter/manifest.yaml"),
        ({"greeter/manifest.yaml": b"name: Greeter\nversion: 1\n"}, None, "invalid manifest"),
        ({**module_entries(), "other/x.py": b""}, None, "one module folder"),
    ],
)
def test_install_zip_refuses_bad_archives(
    platform: Platform, tmp_path: Path, entries: dict[str, bytes], symlink: str | None, message: str
) -> None:
    archive = tmp_path / "bad.zip"
    archive.write_bytes(make_zip(entries, symlink))
    before = sorted(p.name for p in platform.env.modules_dir.iterdir())
    with pytest.raises(LifecycleError, match=message):
        install_zip(platform, archive, "tester")
    assert sorted(p.name for p in platform.env.modules_dir.iterdir()) == before


def test_install_refuses_a_package_named_like_an_importable_one(platform: Platform, tmp_path: Path) -> None:
    entries = module_entries("openpyxl")
    manifest = yaml.safe_load(entries["openpyxl/manifest.yaml"])
    entries["openpyxl/manifest.yaml"] = yaml.safe_dump({**manifest, "name": "openpyxl", "package": "openpyxl"}).encode()
    archive = tmp_path / "openpyxl.zip"
    archive.write_bytes(make_zip(entries))
    with pytest.raises(LifecycleError, match=r"'openpyxl' has the name of an importable package") as caught:
        install_zip(platform, archive, "tester")
    assert "site-packages" in str(caught.value) and "rename" in caught.value.hint
    assert not (platform.env.modules_dir / "openpyxl").exists()


def test_install_corrupt_zip(platform: Platform, tmp_path: Path) -> None:
    good = make_zip(module_entries())
    archive = tmp_path / "corrupt.zip"
    archive.write_bytes(good[: len(good) // 2])
    with pytest.raises(LifecycleError, match=r"not a readable ZIP|corrupt"):
        install_zip(platform, archive, "tester")


def test_job_without_handler_names_the_field(tmp_path: Path) -> None:
    base = yaml.safe_load((FIXTURES / "modules" / "hello_module" / "manifest.yaml").read_text())
    del base["jobs"]["greet"]["handler"]
    folder = tmp_path / "hello_module"
    folder.mkdir()
    (folder / "manifest.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (info,) = discover_modules(tmp_path)
    assert info.error is not None
    assert "jobs.greet.handler: required field is missing" in info.error


def test_handler_naming_a_missing_function_says_so(nx_env: Environment) -> None:
    from nxforge.module_system.loading import HandlerError, resolve_handler

    copy_fixture_module(nx_env, "hello_module")
    with pytest.raises(HandlerError, match=r"'hello_module.jobs' has no 'nope'"):
        resolve_handler(nx_env.modules_dir, "hello_module.jobs:nope")
    sys.modules.pop("nxforge_modules.hello_module", None)
    sys.modules.pop("hello_module.jobs", None)
