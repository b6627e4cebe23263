"""Signed, expiring sign-in tokens and the list of revoked ones: what a browser's session cookie carries.

A token is ``<payload>.<signature>``: the payload (base64url JSON) names the user, a random token
id, the issue and expiry times and a fingerprint of the user's password hash; the signature is an
HMAC-SHA256 over the payload with the site's secret key. So a token cannot be forged or extended
without the key, it stops working when it expires, when it is revoked (sign-out puts its id in
``revoked_sessions``) and when the user's password changes (the fingerprint no longer matches).

The key comes from ``NXFORGE_SECRET_KEY`` or, when unset, from ``<data dir>/secret_key``, created
once with 256 random bits and mode 0600; it is never in git or the config folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from nxforge.db.schema import revoked_sessions
from nxforge.db.types import utcnow
from nxforge.errors import NxForgeError

log = logging.getLogger(__name__)

COOKIE_NAME = "nxforge_session"
SECRET_ENV = "NXFORGE_SECRET_KEY"
SECRET_FILE = "secret_key"
MIN_SECRET_CHARS = 32
DEFAULT_LIFETIME = timedelta(hours=12)
MAX_TOKEN_CHARS = 1024  # a cookie longer than this is not ours: refused before decoding


class SecretKeyError(NxForgeError):
    """The secret key is missing or too short to sign sessions with."""


@dataclass(frozen=True)
class SessionToken:
    """A verified token: whose it is, its id (for revocation) and when it ends."""

    token_id: str
    username: str
    issued_at: datetime
    expires_at: datetime


def load_secret_key(data_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The site's signing key: ``NXFORGE_SECRET_KEY``, else ``<data dir>/secret_key`` (created on first use)."""
    env = os.environ if environ is None else environ
    value = env.get(SECRET_ENV, "").strip()
    if value:
        if len(value) < MIN_SECRET_CHARS:
            raise SecretKeyError(
                f"{SECRET_ENV} has {len(value)} characters; at least {MIN_SECRET_CHARS} are needed",
                hint="generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
            )
        return value.encode("utf-8")
    path = data_dir / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it a moment ago: read theirs
        else:
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32) + "\n")
            log.info("created the session signing key %s", path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_SECRET_CHARS:
        raise SecretKeyError(
            f"{path} holds {len(key)} characters; at least {MIN_SECRET_CHARS} are needed",
            hint=f"delete the file (every signed-in user signs in again) or set {SECRET_ENV}",
        )
    return key.encode("ascii")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    """Issues, verifies and revokes session tokens for one site (its key and its database)."""

    def __init__(
        self,
        key: bytes,
        engine: Engine,
        lifetime: timedelta = DEFAULT_LIFETIME,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._key = key
        self._engine = engine
        self.lifetime = lifetime
        self._clock = clock

    def _sign(self, payload: str) -> str:
        return _b64encode(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def credential_fingerprint(self, password_hash: str | None) -> str:
        """A keyed digest of the password hash: a new password ends every older token."""
        digest = hmac.new(self._key, b"credential:" + (password_hash or "").encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:16]

    def issue(self, username: str, password_hash: str | None) -> tuple[str, SessionToken]:
        """A new token for ``username`` (the cookie value) and what it says."""
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        token = SessionToken(secrets.token_hex(16), username, now, now + self.lifetime)
        body = {
            "id": token.token_id,
            "u": username,
            "iat": int(now.timestamp()),
            "exp": int(token.expires_at.timestamp()),
            "cred": self.credential_fingerprint(password_hash),
        }
        payload = _b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}", token

    def verify(self, value: str | None, password_hash_of: Callable[[str], str | None]) -> SessionToken | None:
        """The token when ``value`` is signed by us, unexpired, not revoked and its user's password unchanged."""
        if not value or len(value) > MAX_TOKEN_CHARS or value.count(".") != 1:
            return None
        payload, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            log.warning("a session cookie with a bad signature was presented")
            return None
        try:
            body = json.loads(_b64decode(payload))
            token = SessionToken(
                str(body["id"]),
                str(body["u"]),
                datetime.fromtimestamp(int(body["iat"]), UTC),
                datetime.fromtimestamp(int(body["exp"]), UTC),
            )
            fingerprint = str(body["cred"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            log.error("a correctly signed session cookie does not parse: was the key reused elsewhere?")
            return None
        if token.expires_at <= self._clock():
            return None
        if not hmac.compare_digest(fingerprint, self.credential_fingerprint(password_hash_of(token.username))):
            return None  # the password changed since this token was issued
        if self.is_revoked(token.token_id):
            return None
        return token

    def is_revoked(self, token_id: str) -> bool:
        """True when the token was revoked (signed out)."""
        with self._engine.connect() as conn:
            found = conn.execute(select(revoked_sessions.c.token_id).where(revoked_sessions.c.token_id == token_id))
            return found.first() is not None

    def revoke(self, token: SessionToken) -> None:
        """Refuse ``token`` from now on, in every process; forget revocations of expired tokens."""
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(delete(revoked_sessions).where(revoked_sessions.c.expires_at < now))
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(revoked_sessions).values(
                            token_id=token.token_id, username=token.username, revoked_at=now,
                            expires_at=token.expires_at,
                        )
                    )  # fmt: skip
            except IntegrityError:
                pass  # revoked twice (two tabs signing out): once is enough
        log.info("session of %r signed out (token revoked)", token.username)
