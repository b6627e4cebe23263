"""``nxforge users``: the parser the lead wires into the CLI, and its handlers."""

from __future__ import annotations

import argparse
import io

import pytest
from sqlalchemy import select

from nxforge.auth.users import USERS_FILE, UserStore
from nxforge.cli.users import add_users_parser
from nxforge.db.schema import audit_log
from nxforge.environment import Environment
from nxforge.platform import Platform

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="nxforge")
    add_users_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return int(args.func(args))


def test_add_passwd_role_list(
    nx_env: Environment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["users", "add", "ada", "--role", "admin", "--name", "Ada L", "--password-stdin"]
    assert run(add, monkeypatch, "ada-password\n") == 0
    assert run(["users", "add", "bob", "--password-stdin"], monkeypatch, "bob-password\n") == 0
    assert run(["users", "role", "bob", "ops"], monkeypatch) == 0
    assert run(["users", "passwd", "bob", "--password-stdin"], monkeypatch, "bob-password-2\n") == 0
    capsys.readouterr()
    assert run(["users", "list"], monkeypatch) == 0
    listing = capsys.readouterr().out
    assert "ada" in listing and "Ada L" in listing and "ops" in listing
    store = UserStore(nx_env.config_dir / USERS_FILE)
    assert store.authenticate("bob", "bob-password-2") is not None
    platform = Platform(nx_env)
    try:
        with platform.engine.connect() as conn:
            actions = [tuple(r) for r in conn.execute(select(audit_log.c.action, audit_log.c.target))]
    finally:
        platform.close()
    assert actions == [("user.add", "ada"), ("user.add", "bob"), ("user.role", "bob"), ("user.passwd", "bob")]


def test_errors_exit_non_zero(
    nx_env: Environment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["users", "add", "ada", "--password-stdin"], monkeypatch, "short\n") == 1
    assert "at least 8" in capsys.readouterr().err
    assert run(["users", "role", "ghost", "ops"], monkeypatch) == 1
    assert "no user named 'ghost'" in capsys.readouterr().err
