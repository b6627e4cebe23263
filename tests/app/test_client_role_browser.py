"""A client user in real Chromium against a real ``streamlit run``: everything the browser receives while
it visits every page its role may open (and the URLs of those it may not) holds acme's endpoints and figures
and nothing of globex's: no endpoint id, client id or name, kWh, amount or power.

Collected: every websocket frame received (Streamlit's protobuf deltas: tables as Arrow, charts as
JSON, texts), every HTTP response body, each page's final text, and the PDF and XLSX it downloads.
Figures are searched as text without thousands separators and, for the statement totals the tables
carry as numbers, as the little-endian doubles Arrow sends; the app's static scripts, styles and
fonts (the same for every user, full of numbers) are searched for the other client's name only.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, Response, WebSocket, expect
from playwright.sync_api import Error as PlaywrightError
from pypdf import PdfReader

from nxforge.environment import Environment
from tests.app.client_site import CLIENT_PASSWORD, CLIENT_USER, MONTH, Totals, build_client_site
from tests.app.consumption_site import MODULES_DIR
from tests.app.streamlit_server import StreamlitServer
from tests.app.test_browser import FIRST_PAGE_MS, TIMEOUT_MS, heading, no_traceback, settled

pytestmark = pytest.mark.browser

CLIENT_PAGES = {"Live status": "Live status", "Energy": "Energy", "Power": "Power", "History": "History",
                "Billing reports": "Billing reports"}  # menu link -> page heading
REFUSED = ["overview", "events", "users", "consumption-monitor-endpoints"]  # AppTest tries every one


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Totals]]:
    base = tmp_path_factory.mktemp("client-browser")
    for folder in ("config", "data"):
        (base / folder).mkdir()
    variables = {
        "NXFORGE_CONFIG_DIR": str(base / "config"),
        "NXFORGE_DATA_DIR": str(base / "data"),
        "NXFORGE_MODULES_DIR": str(MODULES_DIR),
        "NXFORGE_DATABASE_URL": f"sqlite:///{base / 'data' / 'nxforge.db'}",
        "NXFORGE_LOG_LEVEL": "WARNING",
    }
    return variables, build_client_site(Environment.from_environ(variables))


@pytest.fixture(scope="module")
def server(site: tuple[dict[str, str], dict[str, Totals]],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    started = StreamlitServer(site[0], tmp_path_factory.mktemp("logs") / "streamlit.log").start()
    yield started
    started.stop()


class Received:
    """Everything the browser was sent: websocket frames, response bodies, page texts, downloaded files."""

    def __init__(self, page: Page) -> None:
        self.chunks: list[bytes] = []
        self.bodies: list[bytes] = []
        self.static: list[bytes] = []
        """The app's own scripts, styles and fonts: searched for names only (minified code is full of numbers)."""
        self.responses: list[Response] = []
        page.on("websocket", self._socket)
        page.on("response", lambda response: self.responses.append(response))

    def _socket(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: self.chunks.append(
            payload if isinstance(payload, bytes) else payload.encode("utf-8")))

    def add(self, data: bytes | str) -> None:
        self.chunks.append(data if isinstance(data, bytes) else data.encode("utf-8"))

    def drain_responses(self) -> None:
        """Read the bodies of the responses seen so far (redirects and aborted ones have none)."""
        while self.responses:
            response = self.responses.pop()
            try:
                (self.static if "/static/" in response.url else self.bodies).append(response.body())
            except PlaywrightError:  # a redirect or a closed stream has no body to search
                continue

    def everything(self) -> bytes:
        """The frames, texts and files, then the HTTP bodies (downloads served from /media/ among them)."""
        return b"\n".join(self.chunks + self.bodies)


def figure_texts(value: float) -> list[bytes]:
    """How a figure can travel: its digits (separators removed before the search) and its double."""
    whole = str(int(value)).encode()
    return [whole, struct.pack("<d", value)]


def without_separators(data: bytes) -> bytes:
    return (data.replace(b",", b"").replace(b" ", b"").replace("\u2009".encode(), b"")
            .replace("\u202f".encode(), b"").replace(b"\xc2\xa0", b""))


def sign_in_as_client(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(CLIENT_USER, timeout=FIRST_PAGE_MS)
    page.get_by_label("Password", exact=True).fill(CLIENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def choose(page: Page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.locator("input").click()
    box.locator("input").fill(option)
    page.get_by_role("option", name=option).first.click()


def visit(page: Page, received: Received, link: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
    heading(page, CLIENT_PAGES[link])
    settled(page)


def keep_text(page: Page, received: Received) -> None:
    settled(page)
    no_traceback(page)
    received.add(page.inner_text("body"))
    received.drain_responses()


def download(page: Page, received: Received, name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=name).click()
    data = Path(info.value.path()).read_bytes()
    received.add(data)
    return data


def test_a_client_user_receives_nothing_of_another_client(
    server: StreamlitServer, browser: Browser, site: tuple[dict[str, str], dict[str, Totals]]
) -> None:
    totals = site[1]
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    received = Received(page)
    try:
        sign_in_as_client(page, server.url)
        heading(page, "Live status")
        links = page.get_by_test_id("stSidebarNav").get_by_role("link")
        expect(links).to_have_count(len(CLIENT_PAGES))
        assert sorted(text.split("\n")[-1] for text in links.all_inner_texts()) == sorted(CLIENT_PAGES)  # after icons
        expect(page.get_by_text("acme-pdu-a").first).to_be_attached()
        keep_text(page, received)
        page.get_by_test_id("stButtonGroup").get_by_text("Racks", exact=True).click()
        keep_text(page, received)

        visit(page, received, "Energy")
        page.get_by_test_id("stButtonGroup").get_by_text("Endpoint", exact=True).click()
        page.get_by_test_id("stButtonGroup").get_by_text("Month", exact=True).click()
        keep_text(page, received)
        page.get_by_role("button", name="◀ Earlier").click()
        keep_text(page, received)

        visit(page, received, "Power")
        keep_text(page, received)

        visit(page, received, "History")
        choose(page, "Range", "1 year")
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        keep_text(page, received)

        visit(page, received, "Billing reports")
        keep_text(page, received)  # the running month, to date
        choose(page, "Month", MONTH)
        expect(page.get_by_test_id("stMetric").filter(has_text="closed v1")).to_be_visible()
        page.get_by_role("tab", name="Lines").click()
        keep_text(page, received)
        page.get_by_role("tab", name="Statements").click()
        expect(page.get_by_role("button", name=f"Close {MONTH}")).to_have_count(0)
        pdf = download(page, received, "PDF (acme)")
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        received.add(text)
        assert "ST-202603-ACME" in text
        workbook = load_workbook(io.BytesIO(download(page, received, "XLSX (acme)")), read_only=True)
        cells = [str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
                 for cell in row if cell is not None]
        received.add("\n".join(cells))
        assert "acme-pdu-a" in cells
        for button in ("Accounting CSV", "Dispute pack", "all clients"):
            expect(page.get_by_role("button", name=button)).to_have_count(0)

        for url_path in REFUSED:
            page.goto(f"{server.url}/{url_path}")
            heading(page, "Live status")  # the role's default page, not the one asked for
            keep_text(page, received)
    finally:
        context.close()

    everything = received.everything()
    flat = without_separators(everything)
    assert received.static and received.bodies and len(received.chunks) > 20
    assert b"globex" not in everything.lower() and b"globex" not in b"\n".join(received.static).lower()
    assert b"132.9" not in b"\n".join(received.chunks)  # globex's power (132.90 kW); the app's scripts may say it
    for figure in (float(totals["globex"].kwh), float(totals["globex"].amount)):
        whole, double = figure_texts(figure)
        assert whole not in flat and double not in everything, figure
    assert b"acme-pdu-a" in everything and b"acme-pdu-b" in everything and b"ST-202603-ACME" in everything
    whole, double = figure_texts(float(totals["acme"].kwh))
    assert whole in flat and double in everything  # acme's own March figure did arrive, as text and as a number
