"""A fragment rerun runs only the fragment, not the app's sign-in check: it must check the cookie itself.

The Live page redraws its status in a fragment every few seconds. A raw websocket presenting a
signed-in user's session id asks for a rerun of that session's fragment, with and without the cookie.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from nxforge.auth.tokens import COOKIE_NAME
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from tests.app.conftest import APP_FIXTURES
from tests.app.streamlit_server import StreamlitServer
from tests.app.test_signin_browser import TIMEOUT_MS, make_site, session_cookie, sign_in

pytestmark = pytest.mark.browser

SECRET = "Secret figure 4242"
URL_PATH = "fragment-module-ticker"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    base = tmp_path_factory.mktemp("fragment-site")
    variables = make_site(base)
    shutil.copytree(APP_FIXTURES / "modules" / "fragment_module", base / "modules" / "fragment_module")
    platform = Platform(Environment.from_environ(variables))
    try:
        enable_module(platform, "fragment-module", "test")
    finally:
        platform.close()
    started = StreamlitServer(variables, base / "streamlit.log").start()
    yield started
    started.stop()


def rerun_fragment(server: StreamlitServer, session_id: str, fragment_id: str, cookie: str | None) -> str:
    """Present ``session_id`` on a new websocket and ask for a rerun of ``fragment_id``; all text received."""
    headers = {"Origin": server.url, **({"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {})}
    protocols = [Subprotocol("streamlit"), Subprotocol("no-xsrf"), Subprotocol(session_id)]
    uri = server.url.replace("http://", "ws://") + "/_stcore/stream"
    received: list[str] = []
    with connect(uri, subprotocols=protocols, additional_headers=headers, max_size=None) as socket:
        back = BackMsg()
        back.rerun_script.fragment_id = fragment_id
        back.rerun_script.page_name = URL_PATH
        socket.send(back.SerializeToString())
        try:
            while True:
                message = ForwardMsg()
                frame = socket.recv(timeout=8)
                message.ParseFromString(frame if isinstance(frame, bytes) else frame.encode())
                received.append(str(message))
        except TimeoutError:
            pass
    return "\n".join(received)


def test_a_fragment_rerun_without_the_cookie_draws_nothing(server: StreamlitServer, browser: Browser) -> None:
    context = browser.new_context()
    seen: dict[str, str] = {}

    def frame(payload: bytes | str) -> None:
        message = ForwardMsg()
        try:
            message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        except Exception:  # not every frame is a ForwardMsg
            return
        kind = message.WhichOneof("type")
        if kind == "new_session" and message.new_session.initialize.session_id:
            seen["session"] = message.new_session.initialize.session_id
        if kind == "delta" and message.delta.fragment_id and SECRET in str(message):
            seen["fragment"] = message.delta.fragment_id

    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("websocket", lambda socket: socket.on("framereceived", frame))
        sign_in(page, server.url, "viewer")  # a fresh server's first request for a module page says 'Page not found'
        expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
        page.goto(f"{server.url}/{URL_PATH}")
        expect(page.get_by_text(SECRET)).to_be_visible()
        cookie = session_cookie(context)
        assert cookie and "session" in seen and "fragment" in seen
        # With the cookie the fragment reruns: this way of asking would show a leak.
        assert SECRET in rerun_fragment(server, seen["session"], seen["fragment"], cookie)
        stolen = rerun_fragment(server, seen["session"], seen["fragment"], None)
        assert SECRET not in stolen and "Sign in" in stolen  # the whole app reran: the sign-in page
    finally:
        context.close()
    assert "a fragment rerun without this session's sign-in was refused" in server.log_path.read_text()
