"""SNMP and Modbus endpoints from the Endpoints page's form in AppTest: the fields each engine needs, the
YAML they write (as the docs' worked examples write it by hand), Test reading against the simulator's
SNMP agent and Modbus TCP server (real UDP and TCP on 127.0.0.1), and wrong fields refused under the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nxforge.environment import Environment
from nxforge.sdk import plain
from nxforge.simulator import Simulator
from nxforge.simulator.snmp_objects import outlet_kwh
from tests.app.conftest import texts, write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR
from tests.app.endpoints_site import PLAIN_DEVICE, endpoints_path, seed_endpoints, start_simulator
from tests.app.test_endpoints_page import assert_clean, endpoints_page

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
NEW = "ep-+new"
RARITAN_OUTLET = "1.3.6.1.4.1.13742.6.5.4.3.1.4.1.{}.8"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = start_simulator()
    yield simulator
    simulator.stop()


@pytest.fixture
def site(nx_env: Environment, sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("PDU_COMMUNITY", sim.snmp_credentials.community)
    monkeypatch.setenv("SNMP_AUTH_KEY", sim.snmp_credentials.auth_password)
    monkeypatch.setenv("SNMP_PRIV_KEY", sim.snmp_credentials.priv_password)
    env = Environment.from_environ()
    write_core_config(env, [])
    write_users(env)
    seed_endpoints(env, sim)
    yield env
    st.cache_data.clear()
    st.cache_resource.clear()


def key(name: str, endpoint: str = NEW) -> str:
    return f"{endpoint}-id" if name == "id" and endpoint == NEW else f"{endpoint}-f-{name}"


SELECTS = ("preset", "feed", "engine", "auth_type", "auth_protocol", "priv_protocol", "register_type", "word_order")


def fill(at: AppTest, endpoint: str = NEW, **values: str) -> AppTest:
    """Type into the form's inputs (selects by their option), one run per input as a person would."""
    for name, value in values.items():
        if name in SELECTS:
            at.selectbox(key=key(name, endpoint)).set_value(value)
        else:
            at.text_input(key=key(name, endpoint)).input(value)
        at = at.run()
    return at


def inputs(at: AppTest, endpoint: str = NEW) -> set[str]:
    """The form fields drawn, by field key."""
    prefix = f"{endpoint}-f-"
    keys = [w.key for w in [*at.text_input, *at.selectbox] if w.key and w.key.startswith(prefix)]
    return {k[len(prefix):] for k in keys}


def errors_under(at: AppTest) -> str:
    return texts(at.error).replace("\\", "")


def metric_kwh(at: AppTest) -> float:
    (metric,) = [m for m in at.metric if m.label == plain("total_kwh")]
    number, unit = metric.value.split()
    assert unit == "kWh"
    return float(number)


def test_an_snmp_outlet_endpoint_from_the_form_reads_and_writes_the_docs_yaml(site: Environment,
                                                                                sim: Simulator) -> None:
    path = endpoints_path(site)
    before = path.read_text()
    at = endpoints_page("ops").button(key="ep-new-btn").click().run()
    assert {"community", "outlet", "unit_id"}.isdisjoint(inputs(at)) and "password" in inputs(at)  # a web form
    at = fill(at, id="pdu-b3-outlet-3", name="Rack B3, PDU A, outlet 3", client="acme",
              preset="raritan-pdu2-outlet-snmp", url=sim.snmp_url(PLAIN_DEVICE))
    shown = inputs(at)
    assert {"auth_type", "community", "outlet"} <= shown
    assert shown.isdisjoint({"password", "regex", "selector", "unit_id", "word_order", "auth_password"})
    assert "Reads with the snmp engine, from the preset." in texts(at.caption).replace("\\", "")
    # A literal community, and no outlet: both refused under their fields, nothing written.
    at = fill(at, community="public")
    at = at.button(key=f"{NEW}-create").click().run()
    assert_clean(at)
    shown_errors = errors_under(at)
    assert "write a reference such as ${SNMP_COMMUNITY}, never the SNMP community itself" in shown_errors
    assert "required: the outlet this endpoint bills" in shown_errors
    assert path.read_text() == before
    # References and an outlet: Test reading reads outlet 3 over SNMP, still writing nothing.
    at = fill(at, community="${PDU_COMMUNITY}", outlet="3")
    at = at.button(key=f"{NEW}-test-btn").click().run()
    assert_clean(at)
    assert "Read in" in texts(at.success) and "snmp engine" in texts(at.success)
    assert metric_kwh(at) == pytest.approx(outlet_kwh(sim.displayed_kwh(PLAIN_DEVICE), 3), abs=0.001)
    assert path.read_text() == before
    at = at.button(key=f"{NEW}-create").click().run()
    assert_clean(at)
    assert path.read_text() == before + (
        "  - id: pdu-b3-outlet-3\n"
        "    name: Rack B3, PDU A, outlet 3\n"
        "    client: acme\n"
        "    scrape:\n"
        "      preset: raritan-pdu2-outlet-snmp\n"
        f"      url: {sim.snmp_url(PLAIN_DEVICE)}\n"
        '      auth: {community: "${PDU_COMMUNITY}"}\n'
        "      values:\n"
        f'        total_kwh: {{selector: "{RARITAN_OUTLET.format(3)}"}}\n'
    )
    # In the editor: the outlet reads back from the OID; SNMP v3 replaces the community, Test reads with it.
    assert at.selectbox(key="ep-selected").value == "pdu-b3-outlet-3"
    endpoint = "ep-pdu-b3-outlet-3"
    assert at.text_input(key=key("outlet", endpoint)).value == "3"
    at = fill(at, endpoint, auth_type="snmp_v3", username=sim.snmp_credentials.user,
              auth_password="${SNMP_AUTH_KEY}", priv_password="${SNMP_PRIV_KEY}")
    assert "community" not in inputs(at, endpoint) and "auth_password" in inputs(at, endpoint)
    at = at.button(key=f"{endpoint}-test-btn").click().run()
    assert_clean(at)
    assert metric_kwh(at) == pytest.approx(outlet_kwh(sim.displayed_kwh(PLAIN_DEVICE), 3), abs=0.001)
    at = at.button(key=f"{endpoint}-save").click().run()
    assert_clean(at)
    assert ('      auth: {type: snmp_v3, username: nxforge, auth_password: "${SNMP_AUTH_KEY}", '
            'priv_password: "${SNMP_PRIV_KEY}"}\n') in path.read_text()
    assert "community" not in path.read_text()


def test_a_modbus_endpoint_needs_its_unit_id_and_reads_the_meter(site: Environment, sim: Simulator) -> None:
    path = endpoints_path(site)
    before = path.read_text()
    at = endpoints_page("ops").button(key="ep-new-btn").click().run()
    at = fill(at, id="panel-3-main", name="Panel 3, main meter", client="acme", preset="eastron-sdm630",
              url=sim.modbus_url(PLAIN_DEVICE))
    shown = inputs(at)
    assert "unit_id" in shown and shown.isdisjoint({"auth_type", "community", "word_order", "register_type", "regex"})
    at = at.button(key=f"{NEW}-test-btn").click().run()  # no unit id: refused under its field
    assert_clean(at)
    assert "required: the meter's Modbus unit id" in errors_under(at)
    assert not at.metric
    at = fill(at, unit_id="300")
    at = at.button(key=f"{NEW}-create").click().run()
    assert "'300' is not a unit id: a whole number from 0 to 255" in errors_under(at)
    assert path.read_text() == before
    at = fill(at, unit_id="1")
    at = at.button(key=f"{NEW}-test-btn").click().run()
    assert_clean(at)
    assert "modbus engine" in texts(at.success)
    assert metric_kwh(at) == pytest.approx(sim.displayed_kwh(PLAIN_DEVICE), rel=1e-6)
    at = at.button(key=f"{NEW}-create").click().run()
    assert_clean(at)
    assert path.read_text() == before + (
        "  - id: panel-3-main\n"
        "    name: Panel 3, main meter\n"
        "    client: acme\n"
        "    scrape:\n"
        "      preset: eastron-sdm630\n"
        f"      url: {sim.modbus_url(PLAIN_DEVICE)}\n"
        "      modbus: {unit_id: 1}\n"
    )
    at = at.button(key="ep-panel-3-main-test-btn").click().run()  # the editor's Test, on the saved endpoint
    assert_clean(at)
    assert metric_kwh(at) == pytest.approx(sim.displayed_kwh(PLAIN_DEVICE), rel=1e-6)


def test_a_modbus_register_map_without_a_preset_shows_its_decoding(site: Environment, sim: Simulator) -> None:
    at = endpoints_page("ops").button(key="ep-new-btn").click().run()
    at = fill(at, id="panel-4", name="Panel 4", client="acme", engine="modbus", url=sim.modbus_url(PLAIN_DEVICE),
              unit_id="1", register_type="int64", word_order="big", selector="holding:3203", unit="kWh", scale="0.001")
    assert {"register_type", "word_order", "scale", "selector", "unit"} <= inputs(at)
    at = at.button(key=f"{NEW}-test-btn").click().run()
    assert_clean(at)
    assert metric_kwh(at) == pytest.approx(sim.displayed_kwh(PLAIN_DEVICE), abs=0.001)
    assert at.code[0].value == (  # the YAML Create will append
        f"id: panel-4\nname: Panel 4\nclient: acme\nscrape:\n  engine: modbus\n  url: {sim.modbus_url(PLAIN_DEVICE)}\n"
        "  modbus: {unit_id: 1, type: int64, word_order: big}\n"
        '  values:\n    total_kwh: {selector: "holding:3203", unit: kWh, scale: 0.001}')


def test_a_hand_written_snmp_endpoint_keeps_its_comments_when_the_form_changes_the_outlet(
    site: Environment, sim: Simulator
) -> None:
    room = endpoints_path(site).with_name("pdus.yaml")
    text = (
        "endpoints:\n"
        "  - id: pdu-b3-outlet-3\n"
        "    name: Rack B3, PDU A, outlet 3\n"
        "    client: acme\n"
        "    scrape:\n"
        "      preset: raritan-pdu2-outlet-snmp          # mode walk: the outlets of one PDU share one walk\n"
        f"      url: {sim.snmp_url(PLAIN_DEVICE)}\n"
        '      auth: {type: snmp_v3, username: nxforge, auth_protocol: SHA, auth_password: "${SNMP_AUTH_KEY}", '
        'priv_protocol: AES, priv_password: "${SNMP_PRIV_KEY}"}  # authPriv\n'
        "      values:\n"
        f'        total_kwh: {{selector: "{RARITAN_OUTLET.format(3)}"}}   # ...4.1.<outlet>.8\n'
        "      snmp: {walk_cache_s: 10, request_timeout_s: 1}\n"
        "      timeout_s: 5\n"
    )
    room.write_text(text)
    at = endpoints_page("ops")
    at.selectbox(key="ep-selected").set_value("pdu-b3-outlet-3").run()
    endpoint = "ep-pdu-b3-outlet-3"
    assert at.selectbox(key=key("auth_type", endpoint)).value == "snmp_v3"
    assert at.text_input(key=key("outlet", endpoint)).value == "3"
    at = fill(at, endpoint, outlet="5")
    at = at.button(key=f"{endpoint}-test-btn").click().run()
    assert_clean(at)
    assert metric_kwh(at) == pytest.approx(outlet_kwh(sim.displayed_kwh(PLAIN_DEVICE), 5), abs=0.001)
    at = at.button(key=f"{endpoint}-save").click().run()
    assert_clean(at)
    assert room.read_text() == text.replace(RARITAN_OUTLET.format(3), RARITAN_OUTLET.format(5))
