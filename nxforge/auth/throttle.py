"""Sign-in throttling per user name and per client address, kept in the database.

A browser session is free for an attacker (a new one per attempt), so failures are counted per
user name and per client address in ``sign_in_failures``: every session and every app process
sees the same counts, and a restart keeps them. After a few free failures each further one blocks
the key for a doubling delay; at ``lock_after`` failures the key is locked for ``lock_for``. While
either key is blocked, the password is not even checked. Failures are forgotten ``forget_after``
past the last one; a successful sign-in clears the user name's count (not the address's: one
good account must not reset an address that guesses at the others).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from nxforge.db.schema import sign_in_failures
from nxforge.db.types import utcnow

log = logging.getLogger(__name__)

MAX_KEY_PART = 200  # an attacker chooses the user name: it is cut to this before it becomes a key


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures one key gets for free, how the delay grows, when it locks."""

    free_failures: int
    lock_after: int
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(seconds=60)
    lock_for: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(minutes=15)

    def block_after(self, failures: int) -> timedelta | None:
        """How long a key with ``failures`` failures waits before its next attempt (None: no wait)."""
        if failures >= self.lock_after:
            return self.lock_for
        if failures <= self.free_failures:
            return None
        return min(self.base_delay * 2 ** (failures - self.free_failures - 1), self.max_delay)


USER_POLICY = ThrottlePolicy(free_failures=3, lock_after=10)
ADDRESS_POLICY = ThrottlePolicy(free_failures=10, lock_after=30)


@dataclass(frozen=True)
class Failure:
    """What one failed sign-in left behind."""

    user_failures: int
    address_failures: int
    blocked_for: timedelta | None
    locked: bool


def user_key(username: str) -> str:
    """The throttle key of a user name as typed (normalised as sign-in normalises it)."""
    return "user:" + username.strip().lower()[:MAX_KEY_PART]


def address_key(address: str) -> str:
    """The throttle key of a client address."""
    return "address:" + address.strip()[:MAX_KEY_PART]


class SignInThrottle:
    """Counts failed sign-ins per user name and address in the database and says when to refuse."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime] = utcnow,
        user_policy: ThrottlePolicy = USER_POLICY,
        address_policy: ThrottlePolicy = ADDRESS_POLICY,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._policies = {"user": user_policy, "address": address_policy}

    def blocked_for(self, username: str, address: str) -> timedelta | None:
        """How long until this user name and address may try again (None: they may now)."""
        now = self._clock()
        keys = [user_key(username), address_key(address)]
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(sign_in_failures.c.blocked_until).where(
                    sign_in_failures.c.key.in_(keys), sign_in_failures.c.blocked_until > now
                )
            ).all()
        if not rows:
            return None
        return max(row.blocked_until for row in rows) - now

    def record_failure(self, username: str, address: str) -> Failure:
        """Count a failed sign-in against both keys; returns the counts and any block it started."""
        now = self._clock()
        with self._engine.begin() as conn:
            user_failures, user_block = self._count(conn, user_key(username), self._policies["user"], now)
            address_failures, address_block = self._count(conn, address_key(address), self._policies["address"], now)
        blocks = [block for block in (user_block, address_block) if block is not None]
        locked = user_failures >= self._policies["user"].lock_after or (
            address_failures >= self._policies["address"].lock_after
        )
        return Failure(user_failures, address_failures, max(blocks) if blocks else None, locked)

    def record_success(self, username: str) -> None:
        """Clear the user name's failures; prune keys whose failures are long forgotten."""
        now = self._clock()
        forget = max(policy.forget_after for policy in self._policies.values())
        with self._engine.begin() as conn:
            conn.execute(delete(sign_in_failures).where(sign_in_failures.c.key == user_key(username)))
            conn.execute(
                delete(sign_in_failures).where(
                    sign_in_failures.c.last_failure_at < now - forget,
                    or_(sign_in_failures.c.blocked_until.is_(None), sign_in_failures.c.blocked_until < now),
                )
            )

    def _count(self, conn: Connection, key: str, policy: ThrottlePolicy, now: datetime) -> tuple[int, timedelta | None]:
        """Add one failure to ``key`` (row locked on PostgreSQL); returns the new count and its block."""
        row = conn.execute(
            select(sign_in_failures.c.failures, sign_in_failures.c.last_failure_at, sign_in_failures.c.blocked_until)
            .where(sign_in_failures.c.key == key)
            .with_for_update()
        ).first()
        if row is None:
            failures = 1
        else:
            still_blocked = row.blocked_until is not None and row.blocked_until > now
            forgotten = row.last_failure_at < now - policy.forget_after and not still_blocked
            failures = 1 if forgotten else row.failures + 1
        block = policy.block_after(failures)
        blocked_until = now + block if block is not None else None
        values = {"failures": failures, "last_failure_at": now, "blocked_until": blocked_until}
        if row is not None:
            conn.execute(update(sign_in_failures).where(sign_in_failures.c.key == key).values(**values))
            return failures, block
        try:
            with conn.begin_nested():
                conn.execute(insert(sign_in_failures).values(key=key, **values))
        except IntegrityError:
            # Another process counted this key's first failure at the same moment: count on top of it.
            return self._count(conn, key, policy, now)
        return failures, block
