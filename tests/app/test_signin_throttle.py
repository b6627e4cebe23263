"""The sign-in page and the throttle, in AppTest on SQLite and PostgreSQL: lock-out, its event, its log line."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from nxforge.auth.throttle import USER_POLICY
from nxforge.db.schema import events, sign_in_failures
from nxforge.db.types import utcnow
from tests.app.conftest import PASSWORDS, Site, texts
from tests.app.test_app_pages import button, page_title


def sign_in(site: Site, username: str, password: str) -> object:
    at = site.app(None).run()
    at.text_input(key="nx_login_username").input(username)
    at.text_input(key="nx_login_password").input(password)
    button(at, "Sign in").click().run()  # type: ignore[attr-defined]
    return at


def test_the_last_allowed_failure_locks_the_name_and_even_the_right_password_waits(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    platform = site.platform()
    try:
        with platform.engine.begin() as conn:  # as a restart finds them: failures made by earlier processes
            conn.execute(
                insert(sign_in_failures).values(
                    key="user:ops", failures=USER_POLICY.lock_after - 1,
                    last_failure_at=utcnow() - timedelta(minutes=1), blocked_until=utcnow() - timedelta(seconds=1),
                )
            )  # fmt: skip
        with caplog.at_level(logging.WARNING, logger="nxforge.app.session"):
            wrong = sign_in(site, "ops", "not the password")
            assert "Wrong username or password" in texts(wrong.error)  # type: ignore[attr-defined]
            right = sign_in(site, "ops", PASSWORDS["ops"])
        assert "Too many failed sign-ins" in texts(right.error)  # type: ignore[attr-defined]
        assert re.search(r"try again in (899|900) s", texts(right.error))  # type: ignore[attr-defined]  # 15 minutes
        assert [b.label for b in right.button] == ["Sign in"]  # type: ignore[attr-defined]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("failed sign-in for 'ops' from local" in line and "locked" in line for line in warnings)
        assert any("sign-in for 'ops' from local refused: throttled" in line for line in warnings)
        with platform.engine.connect() as conn:
            recorded = conn.execute(select(events.c.kind, events.c.severity, events.c.data).where(
                events.c.kind.like("auth.%"))).all()  # fmt: skip
        assert [(kind, severity) for kind, severity, _ in recorded] == [("auth.locked", "warning")]
        assert recorded[0].data["user_failures"] == USER_POLICY.lock_after
        # Another name is not held up by it (one failure from this address is far from its limit).
        assert page_title(sign_in(site, "viewer", PASSWORDS["viewer"])) == "Overview"
    finally:
        platform.close()
