"""Users file, passwords and roles: what login and the Users page rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from nxforge.auth import PasswordError, UserError, UserStore, can_see, hash_password, parse_role, verify_password
from nxforge.config.errors import ConfigError


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    created = UserStore(tmp_path / "users.yaml", rounds=4)
    created.add("ada", "ada-password", "admin", name="Ada")
    return created


def test_passwords_are_hashed_and_checked() -> None:
    hashed = hash_password("correct horse", rounds=4)
    assert hashed.startswith("$2b$04$") and "correct" not in hashed
    assert verify_password("correct horse", hashed)
    assert not verify_password("wrong horse", hashed)
    assert not verify_password("anything", None)
    assert not verify_password("anything", "$2b$garbage")
    with pytest.raises(PasswordError, match="at least 8"):
        hash_password("short")
    with pytest.raises(PasswordError, match="72 bytes"):
        hash_password("é" * 40)


def test_roles() -> None:
    assert parse_role("ops") == "ops"
    with pytest.raises(ValueError, match="viewer, finance, ops, admin"):
        parse_role("root")
    assert can_see("viewer", ["viewer", "admin"]) and not can_see("finance", ["viewer", "admin"])


def test_authenticate(store: UserStore) -> None:
    user = store.authenticate("ada", "ada-password")
    assert user is not None and user.role == "admin" and user.label == "Ada"
    assert store.authenticate("ADA ", "ada-password") is not None
    assert store.authenticate("ada", "nope-nope") is None
    assert store.authenticate("nobody", "ada-password") is None


def test_add_refuses_duplicates_and_bad_names(store: UserStore) -> None:
    with pytest.raises(UserError, match="already exists"):
        store.add("ada", "another-pass", "viewer")
    with pytest.raises(UserError, match="not a valid username"):
        store.add("Bad Name", "another-pass", "viewer")
    with pytest.raises(ValueError, match="unknown role"):
        store.add("bob", "another-pass", "superuser")
    assert [u.username for u in store.users()] == ["ada"]


def test_role_and_password_changes_keep_comments(store: UserStore) -> None:
    text = store.path.read_text()
    store.path.write_text(text.replace("users:", "# who may sign in\nusers:"))
    store.add("bob", "bob-password", "viewer", email="bob@example.com")
    store.set_role("bob", "finance")
    store.set_password("bob", "bob-password-2")
    assert "# who may sign in" in store.path.read_text()
    assert store.authenticate("bob", "bob-password-2") is not None
    assert store.by_email("BOB@example.com") is not None and store.get("bob").role == "finance"  # type: ignore[union-attr]
    assert store.path.stat().st_mode & 0o077 == 0  # hashes are not world-readable


def test_last_admin_cannot_be_demoted(store: UserStore) -> None:
    with pytest.raises(UserError, match="last admin"):
        store.set_role("ada", "viewer")
    store.add("root2", "root2-password", "admin")
    store.set_role("ada", "viewer")
    assert store.get("ada").role == "viewer"  # type: ignore[union-attr]


def test_unknown_user_changes_are_refused(store: UserStore) -> None:
    with pytest.raises(UserError, match="no user named"):
        store.set_password("ghost", "ghost-password")


def test_invalid_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n  ada:\n    role: wizard\n    password_hash: plain\n")
    with pytest.raises(ConfigError) as caught:
        UserStore(path).users()
    message = str(caught.value)
    assert "users.yaml:3" in message and "users.ada.role" in message


def test_disabled_user_cannot_log_in(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    store = UserStore(path, rounds=4)
    store.add("eve", "eve-password", "viewer")
    path.write_text(path.read_text().replace("role: viewer", "role: viewer\n    disabled: true"))
    assert store.authenticate("eve", "eve-password") is None and store.get("eve") is None


def test_demo_users_file_is_valid() -> None:
    demo = UserStore(Path(__file__).resolve().parents[2] / "config" / "users.yaml")
    assert {u.role for u in demo.users()} == {"viewer", "finance", "ops", "admin"}
    assert demo.authenticate("viewer", "viewer-demo-pass") is not None  # documented in docs/app.md
