"""The client role: bound to one client in users.yaml (required, refused on other roles, file:line in
errors), accepted by ``nxforge users``, and never implied by a page declared without roles."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from nxforge.auth.users import USERS_FILE, UserError, UserStore
from nxforge.cli.users import add_users_parser
from nxforge.config.errors import ConfigError
from nxforge.environment import Environment
from nxforge.module_system.manifest import PageSpec
from nxforge.roles import ALL_ROLES, ROLE_DESCRIPTIONS, ROLES, parse_role


def test_client_is_a_role_with_a_description_but_no_default_page_shows_it() -> None:
    assert parse_role("client") == "client" and "client" in ROLES and ROLE_DESCRIPTIONS["client"]
    assert "client" not in ALL_ROLES
    assert "client" not in PageSpec(name="p", title="P", handler="x:render").roles


def _users_file(tmp_path: Path, text: str) -> UserStore:
    path = tmp_path / USERS_FILE
    path.write_text(text, encoding="utf-8")
    return UserStore(path, rounds=4)


def test_a_client_user_without_a_client_names_the_file_and_line(tmp_path: Path) -> None:
    store = _users_file(tmp_path, "users:\n  admin:\n    role: admin\n  acme:\n    name: Acme\n    role: client\n")
    with pytest.raises(ConfigError) as raised:
        store.load()
    assert f"{USERS_FILE}:4" in str(raised.value) and "needs the one client" in str(raised.value)


def test_client_on_another_role_is_refused_with_its_line(tmp_path: Path) -> None:
    store = _users_file(tmp_path, "users:\n  bob:\n    role: viewer\n    client: acme\n")
    with pytest.raises(ConfigError) as raised:
        store.load()
    assert f"{USERS_FILE}:2" in str(raised.value) and "only for role client" in str(raised.value)


def test_the_store_keeps_the_binding_and_drops_it_with_the_role(tmp_path: Path) -> None:
    store = UserStore(tmp_path / USERS_FILE, rounds=4)
    store.add("admin", "admin-password", "admin")
    with pytest.raises(UserError, match="needs the one client"):
        store.add("carol", "carol-password", "client")
    with pytest.raises(UserError, match="only for role client"):
        store.add("dave", "dave-password", "viewer", client="acme")
    store.add("carol", "carol-password", "client", client=" acme ")
    assert store.get("carol") is not None and store.get("carol").client == "acme"  # type: ignore[union-attr]
    assert "client: acme" in store.path.read_text()
    store.set_role("carol", "client", client="globex")
    assert store.authenticate("carol", "carol-password").client == "globex"  # type: ignore[union-attr]
    store.set_role("carol", "viewer")
    assert store.get("carol").client is None and "client:" not in store.path.read_text()  # type: ignore[union-attr]
    with pytest.raises(UserError, match="needs the one client"):
        store.set_role("carol", "client")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_users_command_adds_and_lists_a_client_user(
    nx_env: Environment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(argv: list[str], stdin: str = "") -> int:
        parser = argparse.ArgumentParser(prog="nxforge")
        add_users_parser(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(argv)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return int(args.func(args))

    assert run(["users", "add", "acme-portal", "--role", "client", "--password-stdin"], "portal-pass\n") == 1
    assert "needs the one client" in capsys.readouterr().err
    assert run(["users", "add", "acme-portal", "--role", "client", "--client", "acme", "--password-stdin"],
               "portal-pass\n") == 0
    assert "for client acme" in capsys.readouterr().out
    assert run(["users", "list"]) == 0
    assert "acme-portal" in (listing := capsys.readouterr().out) and " acme " in listing
    assert UserStore(nx_env.config_dir / USERS_FILE).get("acme-portal").client == "acme"  # type: ignore[union-attr]
