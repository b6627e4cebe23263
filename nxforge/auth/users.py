"""``config/users.yaml``: one entry per user with a bcrypt hash and a role.

A user with role ``client`` names the one client it may see (``client: acme``): the file is
refused (file:line) without it, and ``client:`` on any other role is refused too rather than
silently ignored, so nobody believes a staff user is narrowed to one client when it is not.

Read through the config loader (so a bad file names its line), written back with ruamel.yaml's
round-trip mode (so the comments an admin wrote survive ``nxforge users add``).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from nxforge.auth.passwords import DEFAULT_ROUNDS, hash_password, verify_password
from nxforge.config.loader import load_yaml, validate_file
from nxforge.config.models import StrictModel
from nxforge.errors import NxForgeError
from nxforge.roles import CLIENT_ROLE, Role, parse_role

log = logging.getLogger(__name__)

USERS_FILE = "users.yaml"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
HEADER = (
    "# yaml-language-server: $schema=../schemas/users.schema.json\n"
    "# NxForge users. Manage with: nxforge users add|passwd|role|list (never store a password here)\n"
)


class UserError(NxForgeError, ValueError):
    """A user change refused; the message says why (a ValueError too, as callers catch)."""


class UserRecord(StrictModel):
    """One user as stored."""

    name: str = ""
    role: Role
    password_hash: str | None = Field(default=None, description="bcrypt; empty for OIDC-only users")
    email: str | None = Field(default=None, description="matched against the OIDC identity when st.login is used")
    disabled: bool = False
    client: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="role client only: the one client (as declared in the endpoint YAML) this user sees",
    )

    @model_validator(mode="after")
    def _client_binding(self) -> UserRecord:
        client_problem(self.role, self.client)
        return self

    @field_validator("password_hash")
    @classmethod
    def _bcrypt_shape(cls, value: str | None) -> str | None:
        if value and not value.startswith(("$2a$", "$2b$", "$2y$")):
            raise ValueError("not a bcrypt hash; set it with: nxforge users passwd USERNAME")
        return value


def client_problem(role: str, client: str | None) -> None:
    """Raise a ValueError when ``client`` does not fit ``role``: required for role client, refused otherwise."""
    if role == CLIENT_ROLE and not (client and client.strip()):
        raise ValueError("role client needs the one client it may see: `client: NAME` in users.yaml "
                         "(nxforge users add|role ... --client NAME)")
    if role != CLIENT_ROLE and client is not None:
        raise ValueError(f"client is only for role client; a {role} sees every client, so leave the client out")


class UsersDocument(StrictModel):
    """The whole file."""

    users: dict[str, UserRecord] = Field(default_factory=dict)

    @field_validator("users")
    @classmethod
    def _usernames(cls, value: dict[str, UserRecord]) -> dict[str, UserRecord]:
        for username in value:
            if not USERNAME.match(username):
                raise ValueError(f"{username!r} is not a username: lowercase letters, digits, . _ @ -")
        return value


@dataclass(frozen=True)
class User:
    """A user as the app sees one: never carries the hash."""

    username: str
    name: str
    role: Role
    email: str | None = None
    client: str | None = None
    """Role client: the one client this user sees; None for staff, who see every client."""

    @property
    def label(self) -> str:
        """What the sidebar shows."""
        return self.name or self.username


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class UserStore:
    """Reads and changes ``users.yaml``; every change rewrites the file atomically."""

    def __init__(self, path: Path, rounds: int = DEFAULT_ROUNDS) -> None:
        self.path = path
        self.rounds = rounds
        self._lock = threading.Lock()
        self._cached: tuple[float, UsersDocument] | None = None

    def load(self) -> UsersDocument:
        """The validated file; a missing file means no users. Re-read only when the file changed."""
        if not self.path.exists():
            return UsersDocument()
        mtime = self.path.stat().st_mtime_ns
        if self._cached is None or self._cached[0] != mtime:
            self._cached = (mtime, validate_file(self.path, UsersDocument))
        return self._cached[1]

    def users(self) -> list[User]:
        """Every enabled user, sorted by username."""
        return [self._user(name, record) for name, record in sorted(self.load().users.items()) if not record.disabled]

    def get(self, username: str) -> User | None:
        """The enabled user called ``username``."""
        record = self.load().users.get(username)
        return None if record is None or record.disabled else self._user(username, record)

    def by_email(self, email: str) -> User | None:
        """The enabled user whose e-mail is ``email`` (case-insensitive), for OIDC logins."""
        wanted = email.strip().lower()
        for username, record in self.load().users.items():
            if record.email and record.email.lower() == wanted and not record.disabled:
                return self._user(username, record)
        return None

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when ``password`` is right, else None (same cost whether or not the user exists)."""
        record = self.load().users.get(username.strip().lower())
        ok = verify_password(password, record.password_hash if record else None)
        if not ok or record is None or record.disabled:
            log.debug("wrong password or unknown user %r", username)  # the app logs it with the address
            return None
        return self._user(username.strip().lower(), record)

    def add(self, username: str, password: str | None, role: str, name: str = "", email: str | None = None,
            client: str | None = None) -> User:
        """Create a user; refuses an existing username, and a client binding that does not fit the role."""
        if not USERNAME.match(username):
            raise UserError(f"{username!r} is not a valid username: lowercase letters, digits, . _ @ -")
        checked_role = parse_role(role)
        client = _checked_client(checked_role, client)
        entry = CommentedMap()
        entry["name"] = name or username
        entry["role"] = checked_role
        if client is not None:
            entry["client"] = client
        if email:
            entry["email"] = email
        entry["password_hash"] = hash_password(password, self.rounds) if password else None

        def change(users: CommentedMap) -> None:
            if username in users:
                raise UserError(f"user {username!r} already exists; use passwd or role to change it")
            users[username] = entry

        self._modify(change)
        return User(username, entry["name"], checked_role, email, client)

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password hash."""
        password_hash = hash_password(password, self.rounds)

        def change(users: CommentedMap) -> None:
            self._existing(users, username)["password_hash"] = password_hash

        self._modify(change)

    def set_role(self, username: str, role: str, client: str | None = None) -> None:
        """Change a user's role (and client binding: required for role client, dropped for the others);
        refuses to demote the last admin, who would lock everyone out."""
        checked_role = parse_role(role)
        client = _checked_client(checked_role, client)

        def change(users: CommentedMap) -> None:
            entry = self._existing(users, username)
            admins = [name for name, item in users.items() if item.get("role") == "admin" and not item.get("disabled")]
            if entry.get("role") == "admin" and checked_role != "admin" and admins == [username]:
                raise UserError(f"{username!r} is the last admin; make another user admin first")
            entry["role"] = checked_role
            if client is None:
                entry.pop("client", None)
            else:
                entry["client"] = client

        self._modify(change)

    @staticmethod
    def _existing(users: CommentedMap, username: str) -> Any:
        if username not in users:
            raise UserError(f"no user named {username!r}")
        return users[username]

    @staticmethod
    def _user(username: str, record: UserRecord) -> User:
        return User(username, record.name or username, record.role, record.email, record.client)

    def _modify(self, change: Any) -> None:
        """Load with comments, apply ``change`` to the users map, validate, write atomically."""
        with self._lock:
            yaml = _yaml()
            text = HEADER
            if self.path.exists():
                load_yaml(self.path)  # the safe loader first: ruamel would expand an alias bomb, let a second key win
                text = self.path.read_text(encoding="utf-8")
            document = yaml.load(text) or CommentedMap()
            if document.get("users") is None:
                document["users"] = CommentedMap()
            change(document["users"])
            UsersDocument.model_validate(_plain(document))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".yaml")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    if not self.path.exists():
                        out.write(HEADER)
                    yaml.dump(document, out)
                os.chmod(temp, 0o600)
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            self._cached = None


def _checked_client(role: Role, client: str | None) -> str | None:
    """The stripped client name when it fits ``role``; a UserError saying what to pass otherwise."""
    client = client.strip() if client is not None else None
    try:
        client_problem(role, client or None)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    return client or None


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists, for validation."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    return node
