"""Password hashing with bcrypt; the rules a password must meet are checked here, once."""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping

import bcrypt

from nxforge.errors import NxForgeError

log = logging.getLogger(__name__)

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores (bcrypt 5 refuses) anything past 72 bytes
DEFAULT_ROUNDS = 12
DEMO_ENV = "NXFORGE_DEMO"  # `nxforge demo` sets it to 1: only then do the published demo passwords work

# Checked against when the user does not exist, so a wrong username costs as much time as a
# wrong password and the login form does not reveal which usernames exist.
_DUMMY_HASH = bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds=4))


class PasswordError(NxForgeError, ValueError):
    """A password that does not meet the rules; the message says which rule (a ValueError too)."""


def check_password_rules(password: str) -> None:
    """Refuse passwords that are too short or too long for bcrypt."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise PasswordError(f"the password must be at most {MAX_BYTES} bytes (bcrypt ignores the rest)")


def hash_password(password: str, rounds: int = DEFAULT_ROUNDS) -> str:
    """A bcrypt hash of ``password`` after checking the rules."""
    check_password_rules(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when ``password`` matches ``password_hash``; a missing or malformed hash never matches."""
    candidate = password.encode("utf-8")[:MAX_BYTES]
    if not password_hash:
        bcrypt.checkpw(candidate, _DUMMY_HASH)
        return False
    try:
        return bcrypt.checkpw(candidate, password_hash.encode("ascii"))
    except ValueError:
        log.error("a stored password hash is not a bcrypt hash; reset that user's password")
        return False


def is_published_demo_password(username: str, password: str) -> bool:
    """True for the demo users' documented passwords (``<name>-demo-pass``): anyone can read them."""
    return hmac.compare_digest(password.encode("utf-8"), f"{username.strip().lower()}-demo-pass".encode())


def demo_mode(environ: Mapping[str, str] | None = None) -> bool:
    """True when this process belongs to ``nxforge demo`` (``NXFORGE_DEMO=1``)."""
    return (os.environ if environ is None else environ).get(DEMO_ENV) == "1"
