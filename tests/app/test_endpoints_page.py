"""The Endpoints page in AppTest: real module, real YAML files, SQLite, and the real simulator for Test/Suggest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from nxforge.app.session import SESSION_USER
from nxforge.db.schema import audit_log
from nxforge.environment import Environment
from nxforge.platform import Platform
from nxforge.sdk import plain
from nxforge.simulator import Simulator
from tests.app.conftest import app_test, open_page, texts, write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR
from tests.app.endpoints_site import COMMENT, PLAIN_DEVICE, POLL_LINE, endpoints_path, seed_endpoints

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
URL_PATH = "consumption-monitor-endpoints"


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
    st.cache_resource.clear()  # closes the app's platform, and with it the scraping engine


def endpoints_page(username: str) -> AppTest:
    at = app_test(default_timeout=60)
    at.session_state[SESSION_USER] = username
    return open_page(at.run(), URL_PATH)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert "Traceback" not in texts(at.error) + texts(at.markdown) + texts(at.code)


def field(at: AppTest, name: str, endpoint: str = "plain-a") -> Any:
    return at.text_input(key=f"ep-{endpoint}-f-{name}")


def click(at: AppTest, name: str, endpoint: str = "plain-a") -> AppTest:
    return at.button(key=f"ep-{endpoint}-{name}").click().run()


def audit_rows(env: Environment) -> list[Any]:
    platform = Platform(env)
    try:
        with platform.engine.connect() as conn:
            return list(conn.execute(select(audit_log).order_by(audit_log.c.id)))
    finally:
        platform.close()


def test_ops_opens_the_page_and_viewer_and_finance_cannot(site: Environment) -> None:
    at = endpoints_page("ops")
    assert_clean(at)
    assert at.title[0].value == "Endpoints"
    listed = at.dataframe[0].value
    assert list(listed["endpoint"]) == ["plain-a", "plain-b"]
    assert set(listed["status"]) == {"never"}  # synced, not read yet
    assert list(listed["defined at"]) == ["site.yaml:5", "site.yaml:14"]
    assert field(at, "name").value == "Rack 01 feed A"
    assert field(at, "poll_interval").value == "15m"
    for role in ("viewer", "finance"):
        other = endpoints_page(role)
        assert other.title[0].value == "Live status", role
        assert not [b for b in other.button if b.label == "Save"]


def test_a_bad_value_shows_the_error_on_its_line_and_writes_nothing(site: Environment) -> None:
    path = endpoints_path(site)
    before = path.read_bytes()
    at = endpoints_page("ops")
    field(at, "poll_interval").input("5s").run()
    at = click(at, "save")
    assert_clean(at)
    shown = texts(at.error)
    assert f"consumption-monitor/site.yaml:{POLL_LINE}" in shown
    assert "endpoints.0.poll_interval" in shown and "at least 10s" in shown
    assert any(f">{POLL_LINE} |     poll_interval: 5s" in code.value for code in at.code)
    assert path.read_bytes() == before
    assert not [row for row in audit_rows(site) if row.action == "endpoint.update"]


def test_a_literal_password_is_refused_and_never_shown(site: Environment) -> None:
    path = endpoints_path(site)
    before = path.read_bytes()
    at = endpoints_page("ops")
    at.selectbox(key="ep-plain-a-f-auth_type").set_value("basic").run()
    field(at, "username").input("admin").run()
    field(at, "password").input("hunter2").run()
    at = click(at, "save")
    assert_clean(at)
    assert "never the password itself" in texts(at.error)
    assert path.read_bytes() == before
    assert "hunter2" not in texts(at.code) + texts(at.error) + texts(at.markdown)


def test_a_good_edit_writes_the_file_keeps_the_comment_and_audits(site: Environment) -> None:
    path = endpoints_path(site)
    at = endpoints_page("ops")
    field(at, "name").input("Rack 01 feed A (PDU 2)").run()
    field(at, "circuit_max_kw").input("11").run()
    assert "Rack 01 feed A (PDU 2)" in at.code[0].value  # the YAML view follows the form
    at = click(at, "save")
    assert_clean(at)
    text = path.read_text()
    assert "name: Rack 01 feed A (PDU 2)" in text
    assert "circuit_max_kw: 11" in text
    assert COMMENT in text and text.startswith("# Test site endpoints")
    assert "Saved plain-a" in texts(at.success)
    (row,) = [r for r in audit_rows(site) if r.action == "endpoint.update"]
    assert row.actor == "app:ops" and row.target == "plain-a"
    assert row.detail["changed"]["name"] == {"from": "Rack 01 feed A", "to": "Rack 01 feed A (PDU 2)"}
    assert set(row.detail["changed"]) == {"name", "circuit_max_kw"}
    assert field(at, "name").value == "Rack 01 feed A (PDU 2)"  # the editor re-read the file


def test_the_yaml_view_saves_comments_and_names_the_line_of_a_syntax_error(site: Environment) -> None:
    path = endpoints_path(site)
    before = path.read_bytes()
    at = endpoints_page("ops")
    at.segmented_control(key="ep-plain-a-mode").set_value("YAML").run()
    editor = at.text_area(key="ep-plain-a-yaml")
    assert COMMENT in editor.value
    editor.input(editor.value.replace("feed: A", "feed: [A")).run()
    at = click(at, "save")
    assert re.search(r"YAML editor line \d+: The YAML does not parse", texts(at.error))
    assert path.read_bytes() == before
    editor = at.text_area(key="ep-plain-a-yaml")
    editor.input(editor.value.replace("feed: [A", "feed: B  # swapped with plain-b")).run()
    at = click(at, "save")
    assert_clean(at)
    assert re.search(r"\n    feed: B +# swapped with plain-b\n", path.read_text())
    assert COMMENT in path.read_text()


def test_disable_writes_enabled_false(site: Environment) -> None:
    at = endpoints_page("ops")
    at = click(at, "toggle")
    assert_clean(at)
    assert "enabled: false" in endpoints_path(site).read_text()
    listed = at.dataframe[0].value
    assert listed.loc[listed["endpoint"] == "plain-a", "status"].item() == "disabled"


def test_test_reads_the_simulated_meter_with_the_unsaved_config(site: Environment, sim: Simulator) -> None:
    at = endpoints_page("ops")
    before = endpoints_path(site).read_bytes()
    at = click(at, "test-btn")
    assert_clean(at)
    (metric,) = [m for m in at.metric if m.label == plain("total_kwh")]  # a config name, shown as typed
    number, unit = metric.value.split()
    assert float(number) == sim.displayed_kwh(PLAIN_DEVICE) and unit == "kWh"
    steps = at.table[0].value
    assert "first load" in list(steps["step"]) and "total" in list(steps["step"])
    assert any('id="kwh"' in code.value for code in at.code)  # the page source
    # A broken selector, not saved, fails with its class and a hint; the file is untouched.
    field(at, "selector").input("#nowhere").run()
    at = click(at, "test-btn")
    assert_clean(at)
    assert "selector_not_found" in texts(at.error) and "What to do" in texts(at.error)
    assert endpoints_path(site).read_bytes() == before


def test_suggest_lists_the_energy_element_and_use_copies_it(site: Environment) -> None:
    at = endpoints_page("ops")
    field(at, "selector").input("#nowhere").run()
    at = click(at, "suggest-btn")
    assert_clean(at)
    assert "`#kwh`" in texts(at.caption)
    at = click(at, "use-0")
    assert field(at, "selector").value == "#kwh"
    assert field(at, "regex").value
    assert field(at, "unit").value == "kWh"


def test_the_swap_form_records_a_swap_by_the_signed_in_user(site: Environment) -> None:
    from nxforge_modules.consumption_monitor.tables import meter_event

    at = endpoints_page("ops")
    at.number_input(key="ep-plain-a-swap-old").set_value(12500.0)
    at.number_input(key="ep-plain-a-swap-new").set_value(3.5)
    at.text_input(key="ep-plain-a-swap-why").input("meter failed, ticket 42")
    at = at.button(key="FormSubmitter:ep-plain-a-swap-Record swap").click().run()
    assert_clean(at)
    assert "Meter swap recorded for plain-a" in texts(at.success)
    platform = Platform(site)
    try:
        with platform.engine.connect() as conn:
            (event,) = list(conn.execute(select(meter_event)))
    finally:
        platform.close()
    assert (event.endpoint_id, event.kind, event.who) == ("plain-a", "swap", "ops")
    assert (event.old_final_kwh, event.new_initial_kwh, event.why) == (12500.0, 3.5, "meter failed, ticket 42")
    assert [r.action for r in audit_rows(site)][-1] == "endpoint.meter_swap"


def test_the_swap_form_says_why_it_refuses(site: Environment) -> None:
    at = endpoints_page("ops")
    at = at.button(key="FormSubmitter:ep-plain-a-swap-Record swap").click().run()
    assert_clean(at)
    assert "Say why" in texts(at.error)


def test_edits_survive_switching_between_form_and_yaml(site: Environment) -> None:
    at = endpoints_page("ops")
    field(at, "location").input("room 9").run()
    at.segmented_control(key="ep-plain-a-mode").set_value("YAML").run()
    editor = at.text_area(key="ep-plain-a-yaml")
    assert "location: room 9" in editor.value
    editor.input(editor.value.replace("client: acme", "client: globex")).run()
    at.segmented_control(key="ep-plain-a-mode").set_value("Form").run()
    assert_clean(at)
    assert field(at, "location").value == "room 9"
    assert field(at, "client").value == "globex"


def test_a_file_changed_on_disk_meanwhile_is_not_overwritten(site: Environment) -> None:
    path = endpoints_path(site)
    at = endpoints_page("ops")
    field(at, "name").input("Mine").run()
    changed_by_someone_else = path.read_text().replace("Rack 02 feed A", "Rack 02 (theirs)")
    path.write_text(changed_by_someone_else)
    at = click(at, "save")
    assert_clean(at)
    assert "changed on disk" in texts(at.error) + texts(at.warning)
    assert path.read_text() == changed_by_someone_else



def test_an_input_whose_state_streamlit_dropped_keeps_its_field_on_save(
        site: Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    # Streamlit drops a widget's state when a run ends without drawing it (a run cut short by the next
    # click, on a loaded machine). Such an input is left out of what Save writes: the file keeps the
    # field (it used to be read as None and deleted: a saved draft lost its feed and its preset).
    from nxforge_modules.consumption_monitor.pages import _endpoint_form as form
    from nxforge_modules.consumption_monitor.pages._endpoint_yaml import YamlDocument

    document = YamlDocument.load(endpoints_path(site))
    item = document.data["endpoints"][0]
    state = {form.field_key("plain-a", spec.key): value for spec in form.FIELDS
             if (value := form.form_values(item).get(spec.key)) is not None}
    state[form.field_key("plain-a", "poll_interval")] = "20m"
    for name in ("feed", "preset", "url"):
        state.pop(form.field_key("plain-a", name))
    monkeypatch.setattr(form.st, "session_state", state)
    values = form.form_input("plain-a")
    assert {"feed", "preset", "url"}.isdisjoint(values) and values["poll_interval"] == "20m"
    written = form.apply_form(item, values)
    assert written["feed"] == "A" and written["poll_interval"] == "20m"
    assert written["scrape"]["preset"] == "plain" and written["scrape"]["url"]
