"""Guessing passwords from many fresh browser sessions is slowed, then refused, and recorded.

Before: 60 attempts in 32 s from 4 browsers, every one checked, no slowdown, INFO lines only.
Now the throttle counts per user name and address in the database, so fresh sessions change nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from nxforge.auth.throttle import USER_POLICY
from nxforge.db.engine import create_db_engine
from nxforge.db.schema import events, sign_in_failures
from nxforge.db.types import utcnow
from tests.app.conftest import PASSWORDS
from tests.app.streamlit_server import StreamlitServer
from tests.app.test_signin_browser import make_site

pytestmark = pytest.mark.browser

BROWSERS = 4
ATTEMPTS = 60
WRONG = "Wrong username or password"
THROTTLED = "Too many failed sign-ins"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    base = tmp_path_factory.mktemp("throttle-site")
    started = StreamlitServer(make_site(base), base / "streamlit.log").start()
    yield started
    started.stop()


class Tab:
    """One browser's page on the sign-in form, counting the app's finished runs (to know an attempt's answer)."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.runs = 0
        page.on("websocket", lambda socket: socket.on("framereceived", self._frame))
        page.goto(url)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    def _frame(self, payload: bytes | str) -> None:
        message = ForwardMsg()
        try:
            message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        except Exception:  # not every frame is a ForwardMsg
            return
        if message.WhichOneof("type") == "script_finished":
            self.runs += 1

    def attempt(self, username: str, password: str) -> str:
        """Submit the form once; WRONG or THROTTLED, whichever this run answered."""
        before = self.runs
        self.page.get_by_label("Username", exact=True).fill(username)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        deadline = time.monotonic() + 20
        while self.runs == before and time.monotonic() < deadline:
            self.page.wait_for_timeout(25)
        alert = self.page.get_by_test_id("stAlert").first
        expect(alert).to_be_visible()
        text = alert.inner_text()
        return WRONG if WRONG in text else THROTTLED if THROTTLED in text else text


def _blocked_for(server: StreamlitServer, key: str) -> float:
    """Seconds the throttle key stays blocked, from the database (0 when it is not)."""
    engine = create_db_engine(server.environment["NXFORGE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            until = conn.execute(select(sign_in_failures.c.blocked_until).where(sign_in_failures.c.key == key)).scalar()
    finally:
        engine.dispose()
    return 0.0 if until is None else max(0.0, (until - utcnow()).total_seconds())


def test_fresh_sessions_from_four_browsers_are_slowed_and_refused(server: StreamlitServer, browser: Browser) -> None:
    contexts = [browser.new_context() for _ in range(BROWSERS)]
    tabs = [Tab(context.new_page(), server.url) for context in contexts]
    try:
        started = time.monotonic()
        outcomes = [tabs[n % BROWSERS].attempt("admin", f"guess-{n:03d}") for n in range(ATTEMPTS)]
        elapsed = time.monotonic() - started
        checked = sum(WRONG in outcome for outcome in outcomes)
        print(f"{ATTEMPTS} attempts from {BROWSERS} browsers in {elapsed:.0f} s: {checked} passwords checked")
        assert outcomes[:3] == [WRONG] * 3  # a few typos cost nothing
        assert THROTTLED in outcomes[4:6]
        # 1 + 2 + 4 + 8 + ... seconds between checked guesses: a handful are checked, the rest refused unread.
        assert checked <= 4 + math.log2(elapsed + 1), (checked, elapsed, outcomes)
        # While blocked, even the right password from yet another fresh session is refused. On a slow
        # machine the last block may be about to end: wait it out, and the next guess is checked (and
        # starts a longer block) before the right password is tried.
        remaining = _blocked_for(server, "user:admin")
        if remaining < 8:
            time.sleep(remaining + 0.5)
            assert tabs[0].attempt("admin", "guess-after-the-block") == WRONG
            checked += 1
        assert Tab(contexts[0].new_page(), server.url).attempt("admin", PASSWORDS["admin"]) == THROTTLED
    finally:
        for context in contexts:
            context.close()
    engine = create_db_engine(server.environment["NXFORGE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            failures = dict(conn.execute(select(sign_in_failures.c.key, sign_in_failures.c.failures)).all())
            recorded = conn.execute(
                select(events.c.kind, events.c.severity).where(events.c.kind.like("auth.%"))
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    assert failures == {"user:admin": checked, "address:local": checked}
    # One event per checked guess; a slow machine waits long enough between guesses to check as many as the
    # lock-out allows, and then the last one is recorded as the lock-out.
    locks = 1 if checked >= USER_POLICY.lock_after else 0
    assert len(recorded) == checked
    assert sorted(tuple(row) for row in recorded) == sorted(
        [("auth.locked", "warning")] * locks + [("auth.sign_in_failed", "warning")] * (checked - locks)
    )
    log = server.log_path.read_text()
    assert log.count("WARNING nxforge.app.session: failed sign-in for 'admin' from local") == checked
    assert "WARNING nxforge.app.session: sign-in for 'admin' from local refused: throttled" in log
