"""Create, duplicate and delete on the Endpoints page in AppTest: real module, real YAML files, real
database (delete on SQLite and PostgreSQL, since it must keep readings and past bills)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from nxforge.environment import Environment
from nxforge.platform import Platform
from nxforge.simulator import Simulator
from tests.app.conftest import open_page, texts, write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR
from tests.app.endpoints_site import COMMENT, PLAIN_DEVICE, endpoints_path, seed_endpoints
from tests.app.test_endpoints_page import assert_clean, audit_rows, endpoints_page

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
NEW = "ep-+new"
PAST_MONTH = "2026-02"
TZ = ZoneInfo("Europe/Paris")


@pytest.fixture
def site(nx_env: Environment, sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    env = Environment.from_environ()
    write_core_config(env, [])
    write_users(env)
    seed_endpoints(env, sim)
    yield env
    st.cache_data.clear()
    st.cache_resource.clear()


def unescaped(text: str) -> str:
    """Page text without plain()'s backslashes, to compare with what a person reads."""
    return text.replace("\\", "")


def open_creator(at: AppTest) -> AppTest:
    return at.button(key="ep-new-btn").click().run()


def fill(at: AppTest, **values: str) -> AppTest:
    """Type into the create panel's inputs (``id`` and form fields by key; selects by their option)."""
    for name, value in values.items():
        key = f"{NEW}-id" if name == "id" else f"{NEW}-new-file" if name == "new_file" else f"{NEW}-f-{name}"
        if name in ("preset", "feed", "engine", "auth_type"):
            at.selectbox(key=key).set_value(value)
        else:
            at.text_input(key=key).input(value)
    return at.run()


def create(at: AppTest) -> AppTest:
    return at.button(key=f"{NEW}-create").click().run()


def stored(env: Environment, query: object) -> list[object]:
    platform = Platform(env)
    try:
        with platform.engine.connect() as conn:
            return list(conn.execute(query))  # type: ignore[call-overload]
    finally:
        platform.close()


@SQLITE
def test_create_appends_to_the_file_keeps_the_rest_syncs_and_audits(site: Environment, sim: Simulator) -> None:
    path = endpoints_path(site)
    before = path.read_text()
    at = open_creator(endpoints_page("ops"))
    assert_clean(at)
    assert at.selectbox(key=f"{NEW}-file").value == "site.yaml"
    at = fill(at, id="plain-c", name="Rack 03 feed B", client="acme", location="room 3", feed="B",
              preset="plain", url=sim.url_for(PLAIN_DEVICE))
    assert "id: plain-c" in at.code[0].value  # the YAML Create will append
    at = create(at)
    assert_clean(at)
    text = path.read_text()
    assert text.startswith(before)  # every byte of the file as it was, comments included
    added = text[len(before):]
    assert added.startswith("  - id: plain-c\n    name: Rack 03 feed B\n    client: acme\n")
    assert "preset: plain" in added and "location: room 3" in added
    assert "Created plain-c in consumption-monitor/site.yaml" in texts(at.success)
    listed = at.dataframe[0].value
    assert listed.loc[listed["endpoint"] == "plain-c", "status"].item() == "never"  # synced now
    assert at.selectbox(key="ep-selected").value == "plain-c"
    (row,) = [r for r in audit_rows(site) if r.action == "endpoint.create"]
    assert (row.actor, row.target) == ("app:ops", "plain-c")
    assert row.detail["file"] == "consumption-monitor/site.yaml"
    assert row.detail["changed"]["name"] == {"from": None, "to": "Rack 03 feed B"}
    audit = open_page(at, "audit")
    assert "endpoint.create" in audit.dataframe[0].value["Action"].tolist()


@SQLITE
def test_create_shows_each_problem_on_its_field_and_writes_nothing(site: Environment, sim: Simulator) -> None:
    path = endpoints_path(site)
    before = path.read_bytes()
    at = open_creator(endpoints_page("ops"))
    at = create(at)  # nothing filled in
    assert_clean(at)
    shown = unescaped(texts(at.error))
    assert "required: the stable key" in shown and shown.count("required") >= 4  # id, name, client, url
    # The id is taken in this file; then the model's rule on the poll interval; then the undeclared client.
    at = fill(at, id="plain-b", name="Rack 04", client="initech", poll_interval="5s", preset="plain",
              url=sim.url_for(PLAIN_DEVICE))
    at = create(at)
    assert "id 'plain-b' is already used at site.yaml:14" in unescaped(texts(at.error))
    at = create(fill(at, id="plain-d"))
    assert_clean(at)
    shown = unescaped(texts(at.error))  # the new endpoint's lines come after the file's 22
    assert "consumption-monitor/site.yaml:26: endpoints.2.poll_interval:" in shown and "at least 10s" in shown
    at = create(fill(at, poll_interval="15m"))
    shown = unescaped(texts(at.error))
    assert "consumption-monitor/site.yaml:25: endpoints.2.client: client 'initech' is not declared" in shown
    at = fill(at, client="acme", poll_interval="15m", auth_type="basic", username="admin", password="hunter2")
    at = create(at)
    assert "never the password itself" in unescaped(texts(at.error))
    assert "hunter2" not in texts(at.code)
    assert path.read_bytes() == before
    assert not [r for r in audit_rows(site) if r.action == "endpoint.create"]


@SQLITE
def test_duplicate_prefills_from_the_endpoint_and_keeps_secret_references(
    site: Environment, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOM3_PASSWORD", "s3cret-value")
    room3 = endpoints_path(site).with_name("room3.yaml")
    room3.write_text(
        "# room 3, behind the basic-auth PDUs\nendpoints:\n  - id: room3-a\n    name: Rack 07 feed A\n"
        "    client: acme\n    location: room 3  # row 2\n    scrape:\n      preset: plain\n"
        f'      url: "{sim.url_for(PLAIN_DEVICE)}"\n      auth: {{type: basic, username: admin, '
        'password: "${ROOM3_PASSWORD}"}\n'
    )
    at = endpoints_page("ops")
    at.selectbox(key="ep-selected").set_value("room3-a").run()
    at = at.button(key="ep-room3-a-duplicate").click().run()
    assert_clean(at)
    assert at.text_input(key=f"{NEW}-id").value == "room3-a-copy"
    assert at.selectbox(key=f"{NEW}-file").value == "room3.yaml"
    assert at.text_input(key=f"{NEW}-f-name").value == "Rack 07 feed A"
    assert at.text_input(key=f"{NEW}-f-password").value == "${ROOM3_PASSWORD}"
    at = fill(at, id="room3-b", name="Rack 07 feed B", feed="B")
    at = create(at)
    assert_clean(at)
    text = room3.read_text()
    assert text.count('password: "${ROOM3_PASSWORD}"') == 2 and "s3cret-value" not in text
    assert text.count("# row 2") == 1  # the original's comment, not copied
    assert "- id: room3-b\n    name: Rack 07 feed B\n    client: acme\n    location: room 3\n    feed: B\n" in text
    page_text = texts(at.code) + texts(at.markdown) + texts(at.caption) + texts(at.success)
    assert "s3cret-value" not in page_text
    (row,) = [r for r in audit_rows(site) if r.action == "endpoint.create"]
    assert row.detail["duplicate_of"] == "room3-a"
    assert row.detail["changed"]["scrape.auth.password"] == "changed (value not recorded)"


@SQLITE
def test_create_into_a_new_file(site: Environment, sim: Simulator) -> None:
    at = open_creator(endpoints_page("ops"))
    at.selectbox(key=f"{NEW}-file").set_value("(a new file)").run()
    at = fill(at, new_file="site", id="room4-a", name="Rack 11", client="globex", preset="plain",
              url=sim.url_for(PLAIN_DEVICE))
    at = create(at)
    assert "site.yaml exists already" in unescaped(texts(at.error))
    at = fill(at, new_file="room-4")
    at = create(at)
    assert_clean(at)
    created = endpoints_path(site).with_name("room-4.yaml").read_text()
    assert created.startswith("# Endpoints created from the Endpoints page")
    assert "endpoints:\n  - id: room4-a\n    name: Rack 11\n    client: globex\n" in created
    assert "Created room4-a in consumption-monitor/room-4.yaml" in texts(at.success)


def _seed_past_readings(env: Environment) -> None:
    """plain-a read every 6 hours through February and early March (the month billed in the test)."""
    from nxforge_modules.consumption_monitor.readings import RawReading
    from nxforge_modules.consumption_monitor.store import store_reading

    platform = Platform(env)
    try:
        with platform.engine.begin() as conn:
            start = datetime(2026, 1, 31, 18, tzinfo=UTC)
            for step in range(4 * 31):
                at = start + timedelta(hours=6 * step)
                store_reading(conn, RawReading("plain-a", at, True, raw_kwh=5000.0 + 3.0 * step))
    finally:
        platform.close()


def _billed(env: Environment) -> list[dict[str, object]]:
    from nxforge_modules.consumption_monitor.billing import billing_by_endpoint

    platform = Platform(env)
    try:
        table = billing_by_endpoint(platform.engine, PAST_MONTH, TZ, datetime.now(UTC))
    finally:
        platform.close()
    return [row for row in table.to_dicts() if row["endpoint_id"] == "plain-a"]


@BOTH
def test_delete_retires_keeps_readings_and_past_bills(site: Environment, sim: Simulator) -> None:
    from nxforge_modules.consumption_monitor.queries import live_status
    from nxforge_modules.consumption_monitor.tables import endpoint, reading

    _seed_past_readings(site)
    billed_before = _billed(site)
    assert billed_before and float(billed_before[0]["kwh"]) > 0  # type: ignore[arg-type]
    path = endpoints_path(site)
    before = path.read_text()
    at = endpoints_page("ops")
    assert at.selectbox(key="ep-selected").value == "plain-a"
    at = at.button(key="ep-plain-a-delete").click().run()
    assert "124 reading(s) stay" in texts(at.warning)
    assert "plain-a" in path.read_text()  # nothing happens before the confirmation
    at = at.button(key="ep-plain-a-delete-confirm").click().run()
    assert_clean(at)
    lines = before.splitlines(keepends=True)
    assert path.read_text() == "".join(lines[:4] + lines[13:])  # plain-a's lines cut out, nothing else
    assert COMMENT not in path.read_text() and path.read_text().startswith("# Test site endpoints")
    assert "Deleted plain-a from consumption-monitor/site.yaml and retired it" in texts(at.success)
    assert "124 reading(s) are kept" in texts(at.success)
    assert list(at.dataframe[0].value["endpoint"]) == ["plain-b"]
    assert [e.label for e in at.expander if e.label.startswith("Retired")] == ["Retired endpoints (1)"]
    retired = at.dataframe[1].value
    assert retired["endpoint"].tolist() == ["plain-a"] and retired["readings kept"].tolist() == [124]
    ((retired_at,),) = stored(site, select(endpoint.c.retired_at).where(endpoint.c.id == "plain-a"))
    assert retired_at is not None
    ((count,),) = stored(site, select(func.count()).select_from(reading).where(reading.c.endpoint_id == "plain-a"))
    assert count == 124
    assert _billed(site) == billed_before  # the past month bills exactly as before
    platform = Platform(site)
    try:
        live = live_status(platform.engine, datetime.now(UTC), 3600)
    finally:
        platform.close()
    assert "plain-a" not in live["endpoint_id"].to_list()  # gone from Live
    (row,) = [r for r in audit_rows(site) if r.action == "endpoint.delete"]
    assert (row.actor, row.target, row.detail["retired"]) == ("app:ops", "plain-a", True)
    assert row.detail["changed"]["name"] == {"from": "Rack 01 feed A", "to": None}
    # A new endpoint may not take the retired one's id: its readings are kept under it.
    at = fill(open_creator(at), id="plain-a", name="New meter", client="acme", url=sim.url_for(PLAIN_DEVICE))
    at = create(at)
    assert "belongs to an endpoint retired on" in unescaped(texts(at.error))


@SQLITE
def test_an_empty_site_points_at_the_new_endpoint_button(site: Environment) -> None:
    endpoints_path(site).write_text("clients: [{name: acme}]\n")
    platform = Platform(site)
    try:
        from nxforge_modules.consumption_monitor.collect import sync_now

        sync_now(platform.context("consumption-monitor"))
    finally:
        platform.close()
    at = endpoints_page("ops")
    assert_clean(at)
    assert "press **New endpoint** above to create one" in texts(at.info)
    assert at.button(key="ep-new-btn").label == "New endpoint"


@SQLITE
def test_new_in_the_url_opens_the_create_panel(site: Environment) -> None:
    at = endpoints_page("ops")
    at.query_params["new"] = "1"
    at = at.run()
    assert_clean(at)
    assert at.text_input(key=f"{NEW}-id").value == ""
    assert "New endpoint" in texts(at.markdown)
    at = at.button(key=f"{NEW}-cancel").click().run()
    assert at.button(key="ep-new-btn").label == "New endpoint"
