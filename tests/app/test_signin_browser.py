"""Sign-in in real Chromium against a real ``streamlit run``: the cookie is the credential, not the session id.

A Streamlit session id is handed back by the browser to reconnect; these tests present a signed-in
admin's id on a raw websocket, with and without the admin's cookie, and check what comes back.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.util import calc_hash
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from nxforge.auth.proxy_cookies import MEDIA_COOKIE, MEDIA_EXPIRES_COOKIE
from nxforge.auth.tokens import COOKIE_NAME
from nxforge.db.engine import create_db_engine
from nxforge.db.schema import revoked_sessions
from nxforge.environment import Environment
from tests.app.conftest import PASSWORDS, write_core_config, write_users
from tests.app.streamlit_server import StreamlitServer
from tests.app.test_browser import settled
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
LIFETIME_S = 15  # the short sign-in of the expiry test


def make_site(base: Path) -> dict[str, str]:
    """A site with hello-module on disk and one user per role; the variables that point a server at it."""
    for folder in ("config", "data", "modules"):
        (base / folder).mkdir()
    shutil.copytree(FIXTURES / "modules" / "hello_module", base / "modules" / "hello_module")
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"),
        "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(base / "modules"),
        "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "HELLO_TOKEN": "browser-token",
        "NXFORGE_SECRET_KEY": "",
    }
    env = Environment.from_environ(variables)
    write_core_config(env, [])
    write_users(env)
    return variables


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    base = tmp_path_factory.mktemp("signin-site")
    started = StreamlitServer(make_site(base), base / "streamlit.log").start()
    yield started
    started.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport={"width": 1300, "height": 900})
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    opened.close()


def sign_in(page: Page, url: str, username: str, password: str | None = None) -> None:
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password or PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", name=text, exact=True).first).to_be_visible()


def session_cookie(context: BrowserContext) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE_NAME), None)


def test_reload_and_new_tab_keep_the_session_sign_out_revokes_it(
    server: StreamlitServer, context: BrowserContext
) -> None:
    page = context.new_page()
    sign_in(page, f"{server.url}/events", "ops")
    heading(page, "Events")
    cookie = next(c for c in context.cookies() if c["name"] == COOKIE_NAME)
    assert cookie["sameSite"] == "Strict" and cookie["expires"] > 0
    assert {c["name"] for c in context.cookies()} >= {MEDIA_COOKIE, MEDIA_EXPIRES_COOKIE}  # what nginx checks
    page.reload()
    heading(page, "Events")
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    second = context.new_page()
    second.goto(f"{server.url}/executions")
    heading(second, "Executions")
    old_token = session_cookie(context)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert not {c["name"] for c in context.cookies()} & {COOKIE_NAME, MEDIA_COOKIE, MEDIA_EXPIRES_COOKIE}
    second.reload()  # the other tab's cookie was revoked in the database, not only deleted here
    expect(second.get_by_role("button", name="Sign in")).to_be_visible()
    engine = create_db_engine(server.environment["NXFORGE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            assert conn.execute(select(revoked_sessions.c.username)).scalars().all() == ["ops"]
    finally:
        engine.dispose()
    # The revoked token, put back by hand, opens nothing.
    assert old_token is not None
    context.add_cookies([{"name": COOKIE_NAME, "value": old_token, "url": server.url}])
    page.goto(f"{server.url}/events")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("heading", name="Events", exact=True)).to_have_count(0)


def test_a_forged_or_altered_cookie_opens_nothing(server: StreamlitServer, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, server.url, "viewer")
    heading(page, "Overview")
    token = session_cookie(context)
    assert token is not None
    payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["u"] = "admin"  # promote oneself, keeping the viewer's signature
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=") + "." + signature
    context.clear_cookies()
    context.add_cookies([{"name": COOKIE_NAME, "value": forged, "url": server.url}])
    page.goto(f"{server.url}/users")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_have_count(0)


def replay(server: StreamlitServer, session_id: str, cookie: str | None, url_path: str) -> str:
    """Connect a raw websocket presenting ``session_id`` (and ``cookie``), ask for ``url_path``; all text received."""
    uri = server.url.replace("http://", "ws://") + "/_stcore/stream"
    headers = {"Origin": server.url}
    if cookie:
        headers["Cookie"] = f"{COOKIE_NAME}={cookie}"
    received: list[str] = []
    # Streamlit reads its subprotocol list as (protocol, XSRF token, session id to resume).
    protocols = [Subprotocol("streamlit"), Subprotocol("no-xsrf"), Subprotocol(session_id)]
    with connect(uri, subprotocols=protocols, additional_headers=headers, max_size=None) as socket:
        back = BackMsg()
        back.rerun_script.page_script_hash = calc_hash(url_path)
        back.rerun_script.page_name = url_path
        socket.send(back.SerializeToString())
        ours = None  # the run this request started: a run already going when the socket took over ends first
        try:
            while True:
                frame = socket.recv(timeout=8)
                message = ForwardMsg()
                message.ParseFromString(frame if isinstance(frame, bytes) else frame.encode())
                received.append(str(message))
                if message.WhichOneof("type") == "new_session":
                    ours = message.metadata.run.script_run_id
                if message.WhichOneof("type") == "script_finished" and (
                    message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
                ) and message.metadata.run.script_run_id == ours:
                    break
        except TimeoutError:
            pass
    return "\n".join(received)


def test_an_admins_session_id_without_the_cookie_gets_only_the_sign_in_page(
    server: StreamlitServer, context: BrowserContext
) -> None:
    session_ids: list[str] = []

    def watch(socket: object) -> None:
        def frame(payload: bytes | str) -> None:
            message = ForwardMsg()
            try:
                message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
            except Exception:  # not every frame is a ForwardMsg
                return
            if message.WhichOneof("type") == "new_session" and message.new_session.initialize.session_id:
                session_ids.append(message.new_session.initialize.session_id)

        socket.on("framereceived", frame)  # type: ignore[attr-defined]

    page = context.new_page()
    page.on("websocket", watch)
    sign_in(page, f"{server.url}/users", "admin")
    heading(page, "Users")
    settled(page)  # the admin's run has ended: one still going when the id is taken over sends its rest along
    cookie = session_cookie(context)
    assert session_ids and cookie
    admin_session = session_ids[-1]
    stolen = replay(server, admin_session, None, "users")
    assert "Sign in" in stolen
    for admin_only in ("Test Viewer", "Change role", "Sign out", "Test Admin"):
        assert admin_only not in stolen, admin_only
    # The same request with the admin's cookie does get the page: the check above would have seen it.
    with_cookie = replay(server, admin_session, cookie, "users")
    assert "Test Viewer" in with_cookie and "Sign out" in with_cookie


def test_the_shipped_streamlit_config_keeps_the_agent_api_off(server: StreamlitServer) -> None:
    """.streamlit/config.toml: no HTTP driver of the app beside the browser (it would skip the sign-in page)."""
    described = httpx.get(f"{server.url}/_stcore/agent/openapi.json", timeout=10).json()
    assert '"x-streamlit-agent-api": "disabled"' in json.dumps(described)
    driven = httpx.post(f"{server.url}/_stcore/agent/interact", json={"action": "snapshot"}, timeout=10)
    assert driven.status_code >= 400 and "Test Admin" not in driven.text


def test_a_sign_in_ends_when_its_token_expires(tmp_path: Path, browser: Browser) -> None:
    variables = {**make_site(tmp_path), "NXFORGE_SESSION_LIFETIME": f"{LIFETIME_S}s"}
    short = StreamlitServer(variables, tmp_path / "streamlit.log").start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, short.url, "viewer")
        heading(page, "Overview")
        signed_at = time.monotonic()
        page.reload()
        heading(page, "Overview")
        # The browser would drop the cookie at its Max-Age: keep it longer, the server must refuse it anyway.
        kept = {"name": COOKIE_NAME, "value": session_cookie(context) or "", "url": short.url}
        context.add_cookies([{**kept, "expires": time.time() + 3600}])  # type: ignore[list-item]
        page.wait_for_timeout(max(0.0, LIFETIME_S + 1 - (time.monotonic() - signed_at)) * 1000)
        page.reload()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    finally:
        context.close()
        short.stop()
