"""``nxforge users add|passwd|role|list``: manage ``config/users.yaml`` from a terminal.

Passwords are read with a hidden prompt (twice) or from standard input with ``--password-stdin``
so they never appear in the shell history or the process list.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from nxforge.roles import ROLES

if TYPE_CHECKING:
    from nxforge.auth.users import UserStore

USERS_HELP = "manage users.yaml: add, passwd, role, list"

log = logging.getLogger(__name__)


def _store() -> UserStore:
    # Imported here: the user store reads and writes YAML with ruamel, which every other command
    # (the collector's cron run first) would otherwise import for nothing.
    from nxforge.auth.users import USERS_FILE, UserStore
    from nxforge.environment import Environment

    return UserStore(Environment.from_environ().config_dir / USERS_FILE)


def _read_password(args: argparse.Namespace) -> str:
    from nxforge.auth.passwords import PasswordError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise PasswordError("the two passwords differ")
    return first


def _audit(action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """Record the change in the audit log when the database is reachable; the file change stands either way."""
    from nxforge.audit import default_actor, record_audit
    from nxforge.platform import Platform

    try:
        platform = Platform()
        try:
            record_audit(platform.engine, default_actor(), action, target, detail)
        finally:
            platform.close()
    except SQLAlchemyError as exc:
        log.warning("%s %s done, but not audited: database unreachable (%s)", action, target, exc)


def cmd_users(args: argparse.Namespace) -> int:
    """Run one ``nxforge users`` action; returns the exit status."""
    from nxforge.auth.passwords import PasswordError
    from nxforge.auth.users import UserError

    store = _store()
    try:
        if args.action == "list":
            print(f"{'USERNAME':20} {'ROLE':8} {'CLIENT':16} {'NAME':28} EMAIL")
            for user in store.users():
                print(f"{user.username:20} {user.role:8} {user.client or '-':16} {user.name:28} {user.email or ''}")
        elif args.action == "add":
            password = None if args.oidc_only else _read_password(args)
            store.add(args.username, password, args.role, name=args.name or "", email=args.email, client=args.client)
            _audit("user.add", args.username, {"role": args.role, **_bound(args.client)})
            print(f"user {args.username} added with role {args.role}{_for(args.client)}")
            _warn_undeclared(args.client)
        elif args.action == "passwd":
            store.set_password(args.username, _read_password(args))
            _audit("user.passwd", args.username)
            print(f"password of {args.username} changed")
        elif args.action == "role":
            store.set_role(args.username, args.role, client=args.client)
            _audit("user.role", args.username, {"role": args.role, **_bound(args.client)})
            print(f"{args.username} is now {args.role}{_for(args.client)}")
            _warn_undeclared(args.client)
    except (UserError, PasswordError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _warn_undeclared(client: str | None) -> None:
    """Say so when the client named is declared nowhere (a typo would show that user nothing)."""
    if not client:
        return
    from nxforge.environment import Environment
    from nxforge.module_system.clients import undeclared_client

    warning = undeclared_client(Environment.from_environ(), client)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def _bound(client: str | None) -> dict[str, str]:
    return {"client": client} if client else {}


def _for(client: str | None) -> str:
    return f" for client {client}" if client else ""


CLIENT_HELP = "role client only: the one client this user sees (its name in the endpoint YAML's clients:)"


def add_users_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``users`` to the ``nxforge`` sub-commands; returns the parser it added."""
    users = subparsers.add_parser("users", help=USERS_HELP)
    actions = users.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="list users and their roles")
    add = actions.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="viewer")
    add.add_argument("--name", help="display name")
    add.add_argument("--email", help="matched against the identity when OIDC login is configured")
    add.add_argument("--client", help=CLIENT_HELP)
    add.add_argument("--oidc-only", action="store_true", help="no password: the user logs in through OIDC")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd = actions.add_parser("passwd", help="set a user's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    role = actions.add_parser("role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    role.add_argument("--client", help=CLIENT_HELP)
    users.set_defaults(func=cmd_users)
    return users
