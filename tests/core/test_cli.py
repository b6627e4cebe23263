"""The ``nxforge`` command as a person runs it: a real subprocess, real files, real database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from nxforge.environment import Environment
from tests.conftest import copy_fixture_module

ROOT = Path(__file__).resolve().parents[2]


def nxforge(env: Environment, *args: str, extra_env: dict[str, str] | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    variables = {
        **os.environ,
        "NXFORGE_CONFIG_DIR": str(env.config_dir),
        "NXFORGE_DATA_DIR": str(env.data_dir),
        "NXFORGE_MODULES_DIR": str(env.modules_dir),
        **(extra_env or {}),
    }
    if env.database_url_override:
        variables["NXFORGE_DATABASE_URL"] = env.database_url_override
    return subprocess.run(
        [sys.executable, "-m", "nxforge.cli", *args], env=variables, capture_output=True, text=True, timeout=120,
        input=stdin,
    )


def test_config_check_prints_file_line_field(nx_env: Environment) -> None:
    copy_fixture_module(nx_env, "broken_module")
    nx_env.core_config_path.write_text("timezone: Europe/Paris\nmodules:\n  enabled: []\n  colour: blue\n")
    result = nxforge(nx_env, "config", "check")
    assert result.returncode == 2
    assert f"{nx_env.core_config_path}:4: modules.colour: unknown field" in result.stdout
    manifest = nx_env.modules_dir / "broken_module" / "manifest.yaml"
    assert f"{manifest}:7: colour: unknown field" in result.stdout
    assert f"{manifest}:12: jobs.run.retries:" in result.stdout
    assert "problem(s)" in result.stderr


def test_config_check_passes_on_good_files(nx_env: Environment) -> None:
    copy_fixture_module(nx_env, "hello_module")
    nx_env.core_config_path.write_text("timezone: UTC\n")
    result = nxforge(nx_env, "config", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 problem(s)" in result.stderr


def test_modules_list_enable_refusal_and_enable(nx_env: Environment) -> None:
    for name in ("hello_module", "needs_hello", "broken_module"):
        copy_fixture_module(nx_env, name)
    nx_env.core_config_path.write_text(
        yaml.safe_dump({"modules": {"enabled": [], "settings": {"hello-module": {"token": "${HELLO_TOKEN}"}}}})
    )
    listed = nxforge(nx_env, "modules", "list")
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "disabled" in lines["hello-module"] and "1.2.0" in lines["hello-module"]
    assert "broken" in lines["broken-module"] and "unknown field" in lines["broken-module"]

    refused = nxforge(nx_env, "modules", "enable", "needs-hello")
    assert refused.returncode == 1
    assert "requires module 'hello-module', which is disabled: enable 'hello-module' first" in refused.stderr

    enabled = nxforge(nx_env, "modules", "enable", "hello-module", extra_env={"HELLO_TOKEN": "x"})
    assert enabled.returncode == 0, enabled.stderr
    assert "2 migration(s) applied" in enabled.stdout
    relisted = nxforge(nx_env, "modules", "list")
    assert "enabled" in {line.split()[0]: line for line in relisted.stdout.splitlines()[1:]}["hello-module"]


def test_collector_once_exit_status(nx_env: Environment, tmp_path: Path) -> None:
    copy_fixture_module(nx_env, "hello_module")
    nx_env.core_config_path.write_text(
        yaml.safe_dump({"modules": {"enabled": [], "settings": {"hello-module": {"token": "x"}}}})
    )
    assert nxforge(nx_env, "modules", "enable", "hello-module").returncode == 0
    collector = Path(__file__).resolve().parents[2] / "collector.py"
    variables = {
        **os.environ,
        "NXFORGE_CONFIG_DIR": str(nx_env.config_dir),
        "NXFORGE_DATA_DIR": str(nx_env.data_dir),
        "NXFORGE_MODULES_DIR": str(nx_env.modules_dir),
        "NXFORGE_DATABASE_URL": nx_env.database_url_override or "",
    }
    ran = subprocess.run([sys.executable, str(collector), "--once"], env=variables, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert "hello-module/greet ok" in ran.stdout
    nx_env.core_config_path.write_text("timezone: Nowhere/Atlantis\n")
    broken = subprocess.run([sys.executable, str(collector), "--once"], env=variables, capture_output=True, text=True)
    assert broken.returncode == 2
    assert "timezone" in broken.stderr
    unreachable = {**variables, "NXFORGE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    nx_env.core_config_path.write_text("timezone: UTC\n")
    down = subprocess.run([sys.executable, str(collector), "--once"], env=unreachable, capture_output=True, text=True)
    assert down.returncode == 3
    assert "database unreachable" in down.stderr


def test_config_check_reports_users_file_problems(nx_env: Environment) -> None:
    (nx_env.config_dir / "users.yaml").write_text("users:\n  ada:\n    role: wizard\n")
    result = nxforge(nx_env, "config", "check")
    assert result.returncode == 2
    assert f"{nx_env.config_dir / 'users.yaml'}:" in result.stdout


ENDPOINT = """\
  - id: {id}
    name: Rack {id}
    client: {client}
    scrape: {{preset: plain, url: "http://127.0.0.1:8780/d/plain-007/"}}
"""


def test_config_check_asks_enabled_modules_for_their_whole_config_rules(nx_env: Environment) -> None:
    shutil.copytree(ROOT / "modules" / "consumption_monitor", nx_env.modules_dir / "consumption_monitor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    folder = nx_env.config_dir / "consumption-monitor"
    folder.mkdir()
    (folder / "a.yaml").write_text("clients:\n  - {name: acme}\nendpoints:\n" + ENDPOINT.format(id="r1", client="acme"))
    (folder / "b.yaml").write_text("endpoints:\n" + ENDPOINT.format(id="r1", client="acme")
                                   + ENDPOINT.format(id="r2", client="initech"))
    nx_env.core_config_path.write_text("modules:\n  enabled: [consumption-monitor]\n")
    result = nxforge(nx_env, "config", "check")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    duplicate = f"{folder / 'b.yaml'}:2: endpoints.0.id: duplicate endpoint id 'r1': already defined at "
    assert lines.count(f"{duplicate}{folder / 'a.yaml'}:4") == 1, result.stdout
    undeclared = f"{folder / 'b.yaml'}:8: endpoints.1.client: client 'initech' is not declared"
    assert len([line for line in lines if line.startswith(undeclared)]) == 1, result.stdout

    nx_env.core_config_path.write_text("modules:\n  enabled: []\n")
    disabled = nxforge(nx_env, "config", "check")
    assert disabled.returncode == 0, disabled.stdout  # each file is valid alone; only an enabled module's rules join


USERS = """\
users:
  acme-portal:
    role: client
    client: acme
  globex-portal:
    role: client
    client: globexx
"""


def test_config_check_refuses_a_client_user_bound_to_an_undeclared_client(nx_env: Environment) -> None:
    shutil.copytree(ROOT / "modules" / "consumption_monitor", nx_env.modules_dir / "consumption_monitor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    folder = nx_env.config_dir / "consumption-monitor"
    folder.mkdir()
    endpoints = ENDPOINT.format(id="r1", client="acme") + ENDPOINT.format(id="r2", client="globex")
    (folder / "a.yaml").write_text("clients:\n  - {name: acme}\n  - {name: globex}\nendpoints:\n" + endpoints)
    nx_env.core_config_path.write_text("modules:\n  enabled: [consumption-monitor]\n")
    users = nx_env.config_dir / "users.yaml"
    users.write_text(USERS)
    result = nxforge(nx_env, "config", "check")
    assert result.returncode == 2, result.stdout + result.stderr
    assert [line for line in result.stdout.splitlines() if "client" in line and str(users) in line] == [
        f"{users}:7: users.globex-portal.client: client 'globexx' is declared by no enabled module (declared: acme, "
        "globex); this user would see nothing: fix the name, or declare the client under clients:"]

    users.write_text(USERS.replace("globexx", "globex"))
    fixed = nxforge(nx_env, "config", "check")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    added = nxforge(nx_env, "users", "add", "initech-portal", "--role", "client", "--client", "initek",
                    "--password-stdin", stdin="initech-pass\n")
    assert added.returncode == 0, added.stdout + added.stderr  # written: the client may be declared next
    assert "warning: client 'initek' is declared by no enabled module (declared: acme, globex)" in added.stderr
    assert "initek" in users.read_text()
    quiet = nxforge(nx_env, "users", "role", "initech-portal", "client", "--client", "acme")
    assert quiet.returncode == 0 and "warning" not in quiet.stderr, quiet.stdout + quiet.stderr


def test_config_check_reports_the_notifications_section_with_its_line(nx_env: Environment) -> None:
    nx_env.core_config_path.write_text("timezone: UTC\nnotifications:\n  rules:\n    - channels: [nowhere]\n")
    result = nxforge(nx_env, "config", "check")
    assert result.returncode == 2
    assert f"{nx_env.core_config_path}:2: notifications: " in result.stdout
    assert "unknown channel" in result.stdout


def test_config_check_names_each_missing_secret_at_its_line(nx_env: Environment) -> None:
    nx_env.core_config_path.write_text(
        "database:\n  url: postgresql+psycopg://nx:${DB_PASSWORD}@db.example/nx\n"
        "notifications:\n  channels:\n    chat: {type: slack, url: '${SLACK_URL}'}\n"
    )
    result = nxforge(nx_env, "config", "check")
    assert result.returncode == 2
    assert f"{nx_env.core_config_path}:5: notifications.channels.chat.url: secret ${{SLACK_URL}} is not set" \
        in result.stdout
    assert "DB_PASSWORD" not in result.stdout  # NXFORGE_DATABASE_URL is set: that URL is not used
    (nx_env.config_dir / "secrets.yaml").write_text("SLACK_URL: https://hooks.example/x\n")
    assert nxforge(nx_env, "config", "check").returncode == 0
