"""Session tokens, the signing key, the sign-in throttle and the demo passwords, on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from nxforge.auth.passwords import demo_mode, is_published_demo_password
from nxforge.auth.throttle import ADDRESS_POLICY, USER_POLICY, SignInThrottle
from nxforge.auth.tokens import SecretKeyError, SessionTokens, load_secret_key
from nxforge.db.schema import revoked_sessions, sign_in_failures
from nxforge.migrations.runner import ensure_core_schema

KEY = b"k" * 64
HASH = "$2b$04$abcdefghijklmnopqrstuu5yUVk1PPXmjDOSj4GQeV1wj6Rw1qNzW"


class Clock:
    """A settable clock: expiry and backoff are about time, the database stays real."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def schema(engine: Engine) -> Engine:
    ensure_core_schema(engine)
    return engine


def test_a_token_verifies_until_it_expires(schema: Engine) -> None:
    clock = Clock()
    tokens = SessionTokens(KEY, schema, timedelta(hours=1), clock)
    value, issued = tokens.issue("ada", HASH)
    verified = tokens.verify(value, lambda name: HASH)
    assert verified == issued and verified.username == "ada"
    clock.advance(minutes=59)
    assert tokens.verify(value, lambda name: HASH) is not None
    clock.advance(minutes=2)
    assert tokens.verify(value, lambda name: HASH) is None


def test_forged_altered_and_foreign_tokens_fail(schema: Engine) -> None:
    tokens = SessionTokens(KEY, schema)
    value, _ = tokens.issue("viewer", HASH)
    payload, signature = value.split(".")
    for bad in (
        None, "", "garbage", "a.b.c", f"{payload}.{signature[:-2]}AA", f"{payload[:-2]}xx.{signature}",
        "x" * 5000, f"{payload}.",
    ):  # fmt: skip
        assert tokens.verify(bad, lambda name: HASH) is None, bad
    other_site = SessionTokens(b"o" * 64, schema)
    assert other_site.verify(value, lambda name: HASH) is None


def test_a_new_password_ends_older_tokens(schema: Engine) -> None:
    tokens = SessionTokens(KEY, schema)
    value, _ = tokens.issue("ada", HASH)
    assert tokens.verify(value, lambda name: HASH.replace("a", "b")) is None
    assert tokens.verify(value, lambda name: None) is None


def test_revocation_holds_across_processes_and_is_pruned_after_expiry(schema: Engine) -> None:
    clock = Clock()
    tokens = SessionTokens(KEY, schema, timedelta(hours=1), clock)
    value, issued = tokens.issue("ada", HASH)
    kept, _ = tokens.issue("ada", HASH)
    tokens.revoke(issued)
    tokens.revoke(issued)  # twice: two tabs signing out
    restarted = SessionTokens(KEY, schema, timedelta(hours=1), clock)
    assert restarted.verify(value, lambda name: HASH) is None
    assert restarted.verify(kept, lambda name: HASH) is not None  # only the signed-out token ends
    clock.advance(hours=2)
    _, other = restarted.issue("bob", HASH)
    restarted.revoke(other)
    with schema.connect() as conn:
        assert conn.execute(select(revoked_sessions.c.username)).scalars().all() == ["bob"]


def test_the_secret_key_is_made_once_private_or_taken_from_the_environment(tmp_path: Path) -> None:
    key = load_secret_key(tmp_path / "data", environ={})
    path = tmp_path / "data" / "secret_key"
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(tmp_path / "data", environ={}) == key
    assert load_secret_key(tmp_path / "data", environ={"NXFORGE_SECRET_KEY": "e" * 40}) == b"e" * 40
    with pytest.raises(SecretKeyError, match="at least 32"):
        load_secret_key(tmp_path / "data", environ={"NXFORGE_SECRET_KEY": "short"})
    path.write_text("tiny\n")
    with pytest.raises(SecretKeyError, match="at least 32"):
        load_secret_key(tmp_path / "data", environ={})


def test_backoff_then_lock_out_per_user_name_and_restarts_keep_it(schema: Engine) -> None:
    clock = Clock()
    throttle = SignInThrottle(schema, clock)
    delays = []
    for _ in range(USER_POLICY.lock_after):
        assert throttle.blocked_for("admin", "10.0.0.1") is None
        failure = throttle.record_failure(" Admin", "10.0.0.1")  # typed differently: the same name
        delays.append(failure.blocked_for)
        if failure.blocked_for is not None and not failure.locked:
            assert throttle.blocked_for("admin", "10.0.0.9") == failure.blocked_for  # from any address
            clock.advance(seconds=failure.blocked_for.total_seconds())
    assert delays[:3] == [None, None, None]
    assert [d.total_seconds() for d in delays[3:9] if d] == [1, 2, 4, 8, 16, 32]
    assert failure.locked and delays[-1] == USER_POLICY.lock_for
    restarted = SignInThrottle(schema, clock)
    clock.advance(minutes=14)
    assert restarted.blocked_for("admin", "10.0.0.2") == timedelta(minutes=1)
    assert restarted.blocked_for("ops", "10.0.0.2") is None  # another name, another address: free
    clock.advance(minutes=2)
    assert restarted.blocked_for("admin", "10.0.0.2") is None


def test_an_address_guessing_many_names_is_slowed_and_locked(schema: Engine) -> None:
    clock = Clock()
    throttle = SignInThrottle(schema, clock)
    for attempt in range(ADDRESS_POLICY.lock_after):
        wait = throttle.blocked_for(f"name{attempt}", "203.0.113.7")
        if wait is not None:
            clock.advance(seconds=wait.total_seconds())
        failure = throttle.record_failure(f"name{attempt}", "203.0.113.7")
        assert failure.user_failures == 1
    assert failure.locked and failure.address_failures == ADDRESS_POLICY.lock_after
    assert throttle.blocked_for("someone-new", "203.0.113.7") == ADDRESS_POLICY.lock_for
    assert throttle.blocked_for("someone-new", "198.51.100.1") is None


def test_success_clears_the_name_not_the_address_and_old_failures_are_forgotten(schema: Engine) -> None:
    clock = Clock()
    throttle = SignInThrottle(schema, clock)
    for _ in range(3):
        throttle.record_failure("ops", "10.0.0.5")
    throttle.record_success("ops")
    with schema.connect() as conn:
        keys = dict(conn.execute(select(sign_in_failures.c.key, sign_in_failures.c.failures)).all())
    assert keys == {"address:10.0.0.5": 3}
    clock.advance(minutes=16)
    assert throttle.record_failure("ops", "10.0.0.5").address_failures == 1  # forgotten, counting anew
    clock.advance(minutes=16)
    throttle.record_success("viewer")  # prunes keys long forgotten
    with schema.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sign_in_failures)).scalar_one() == 0


def test_published_demo_passwords() -> None:
    assert is_published_demo_password("admin", "admin-demo-pass")
    assert is_published_demo_password(" Viewer", "viewer-demo-pass")
    assert not is_published_demo_password("viewer", "admin-demo-pass")
    assert not is_published_demo_password("viewer", "viewer-demo-pass2")
    assert demo_mode({"NXFORGE_DEMO": "1"}) and not demo_mode({}) and not demo_mode({"NXFORGE_DEMO": "yes"})
