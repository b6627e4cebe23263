"""The client role in AppTest: its menu, every page it may open showing acme's data and nothing of
globex's, the pages it may not open, and the free date ranges of History and Energy drawing what was picked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nxforge.app.navigation import plan_navigation
from nxforge.app.session import SESSION_USER
from nxforge.environment import Environment
from nxforge.platform import Platform
from tests.app.client_site import CLIENT_USER, MONTH, Totals, build_client_site
from tests.app.conftest import app_test, open_page
from tests.app.consumption_site import MODULES_DIR

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
CLIENT_PAGES = ["consumption-monitor-live", "consumption-monitor-energy", "consumption-monitor-power",
                "consumption-monitor-history", "consumption-monitor-reports"]
REFUSED = ["overview", "executions", "events", "audit", "modules", "users", "consumption-monitor-endpoints"]


@pytest.fixture
def site(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Environment, dict[str, Totals]]]:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    env = Environment.from_environ()
    totals = build_client_site(env)
    yield env, totals
    st.cache_data.clear()
    st.cache_resource.clear()


def app(username: str) -> AppTest:
    at = app_test(default_timeout=90)
    at.session_state[SESSION_USER] = username
    return at


def received(node: object) -> str:
    """Everything the page sent for ``node`` and below: each element's protobuf as text (tables, charts, labels)."""
    parts = [str(node.proto)] if getattr(node, "proto", None) is not None else []  # type: ignore[attr-defined]
    children = getattr(node, "children", {})
    for child in children.values():
        parts.append(received(child))
    return "\n".join(parts)


def digits(text: str) -> str:
    """The text without thousands separators, so '98 765.4' and '98,765.4' both read 98765.4."""
    return text.replace(",", "").replace(" ", "").replace("\u2009", "").replace("\u202f", "").replace("\\u2009", "")


ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
"""A timestamp the page sends (a date input's bounds): its microseconds once read 132900, globex's power."""


def no_globex(at: AppTest, totals: dict[str, Totals]) -> str:
    assert not at.exception, [e.value for e in at.exception]
    sent = received(at._tree)
    assert "globex" not in sent.lower()
    numbers = ISO_INSTANT.sub("", sent)
    assert "132.9" not in numbers and "132900" not in digits(numbers)  # globex's power
    assert str(int(totals["globex"].kwh)) not in digits(numbers) and str(totals["globex"].amount) not in digits(numbers)
    return sent


def test_the_client_role_menu_is_its_five_pages(site: tuple[Environment, dict[str, Totals]]) -> None:
    platform = Platform(site[0])
    try:
        assert sorted(plan_navigation(platform, "client").url_paths) == sorted(CLIENT_PAGES)
        assert "consumption-monitor-reports" not in plan_navigation(platform, "viewer").url_paths
    finally:
        platform.close()


def test_every_client_page_shows_acme_and_nothing_of_globex(site: tuple[Environment, dict[str, Totals]]) -> None:
    _, totals = site
    at = app(CLIENT_USER)
    live = open_page(at, "consumption-monitor-live")
    sent = no_globex(live, totals)
    assert "acme-pdu-a" in sent and "acme-pdu-b" in sent
    assert not [w for w in live.multiselect if w.key == "live-client"]  # one client: no client filter
    live.segmented_control(key="live-view").set_value("Racks").run()
    racks = live.dataframe[0].value.iloc[0]
    assert (racks["Feed A"], racks["Feed B"], racks["A+B"]) == ("2.50 kW", "1.50 kW", "4.00 kW")  # not + 132.9
    no_globex(live, totals)
    for url_path in ("consumption-monitor-history", "consumption-monitor-power"):
        assert "acme-pdu-a" in no_globex(open_page(at, url_path), totals), url_path
    energy = open_page(at, "consumption-monitor-energy")
    no_globex(energy, totals)
    assert energy.dataframe[0].value.iloc[:, 0].tolist() == ["acme"]  # stacked by client: its one client
    energy.segmented_control(key="energy-stack").set_value("Endpoint").run()
    energy.segmented_control(key="energy-bars").set_value("Month").run()
    no_globex(energy, totals)
    history = open_page(at, "consumption-monitor-history")
    history.selectbox(key="hist-range").set_value("1 year").run()
    no_globex(history, totals)
    reports = open_page(at, "consumption-monitor-reports")
    reports.selectbox(key="report-month").set_value(MONTH).run()
    sent = no_globex(reports, totals)
    statements = reports.dataframe[0].value
    assert statements["number"].tolist() == ["ST-202603-ACME"]
    assert str(int(totals["acme"].kwh)) in digits(sent)
    labels = sorted(button.label.replace("\\", "") for button in reports.get("download_button"))
    assert labels == ["PDF (acme)", "XLSX (acme)"]
    assert not [b for b in reports.button if b.key in ("close-month", "reopen-month")]
    assert [tab.label for tab in reports.tabs] == ["Statements", "Lines"]


def test_pages_the_client_role_may_not_open_do_not_render(site: tuple[Environment, dict[str, Totals]]) -> None:
    at = app(CLIENT_USER)
    for url_path in REFUSED:
        at = open_page(at, url_path)
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value == "Live status", url_path  # the role's default page, not the one asked for


def _x_range(at: AppTest, key: str) -> tuple[str, str, list[str]]:
    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id or json.loads(c.proto.spec))
    spec = json.loads(chart.proto.spec)
    first, last = spec["layout"]["xaxis"]["range"]
    xs = [x for trace in spec["data"] if trace.get("type") == "bar" for x in trace.get("x", [])]
    return first, last, xs


def test_history_free_dates_are_the_range_drawn(site: tuple[Environment, dict[str, Totals]]) -> None:
    at = open_page(app(CLIENT_USER), "consumption-monitor-history")
    at.selectbox(key="hist-range").set_value("Dates").run()
    at.date_input(key="hist-dates").set_value((date(2026, 3, 10), date(2026, 3, 12))).run()
    assert not at.exception, [e.value for e in at.exception]
    first, last, xs = _x_range(at, "hist-line")
    assert first.startswith("2026-03-10T00:00:00") and last.startswith("2026-03-13T00:00:00")
    days = sorted({datetime.fromisoformat(x).date() for x in xs})
    assert days == [date(2026, 3, day) for day in (10, 11, 12)]  # hourly bars over the three days picked, no more


def test_energy_free_dates_are_the_range_drawn(site: tuple[Environment, dict[str, Totals]]) -> None:
    at = open_page(app("viewer"), "consumption-monitor-energy")
    at.toggle(key="energy-free").set_value(True).run()
    at.date_input(key="energy-dates").set_value((date(2026, 3, 5), date(2026, 3, 8))).run()
    assert not at.exception, [e.value for e in at.exception]
    first, last, xs = _x_range(at, "energy-bars-chart")
    assert first.startswith("2026-03-05T00:00:00") and last.startswith("2026-03-09T00:00:00")
    days = sorted({datetime.fromisoformat(x).date() for x in xs})
    assert days == [date(2026, 3, day) for day in (5, 6, 7, 8)]  # four day bars, centred in their days
    assert any("globex" in str(trace.get("name")) for trace in json.loads(
        at.get("plotly_chart")[0].proto.spec)["data"])  # staff see every client


def test_the_users_page_warns_when_a_client_user_names_an_undeclared_client(
    site: tuple[Environment, dict[str, Totals]],
) -> None:
    at = open_page(app("admin"), "users")
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="nx-add-username").input("initech-portal")
    at.selectbox(key="nx-add-role").select("client")
    at.text_input(key="nx-add-password").input("initech-pass-1")
    at.text_input(key="nx-add-repeat").input("initech-pass-1")
    at.text_input(key="nx-add-client").input("initek")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "initech\\-portal added as client" in " ".join(w.value for w in at.success)
    warning = " ".join(w.value for w in at.warning)
    assert "initek" in warning and "declared by no enabled module" in warning and "acme" in warning
    at.selectbox(key="nx-role-user").select("initech-portal")
    at.selectbox(key="nx-role-role").select("client")
    at.text_input(key="nx-role-client").input("acme")
    next(b for b in at.button if b.label == "Change role").click().run()
    assert "initech\\-portal is now client" in " ".join(w.value for w in at.success)
    assert not [w.value for w in at.warning if "declared" in w.value]  # acme is declared: nothing to warn
