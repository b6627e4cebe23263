"""SNMP and Modbus endpoints on the Endpoints page's form: which fields each engine shows and writes
(``pages/_endpoint_engines.py``, plain functions on a ruamel mapping), then in AppTest the form creating
an SNMP outlet endpoint and a Modbus endpoint, Test reading against the simulator's SNMP agent and Modbus
TCP server (real UDP and TCP on 127.0.0.1), and the YAML file written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import streamlit as st
from ruamel.yaml.comments import CommentedMap
from streamlit.testing.v1 import AppTest

from nxforge.environment import Environment
from nxforge.module_system.loading import mount_modules
from nxforge.scraping.protocol_config import ModbusOptions, SnmpCommunityAuth, SnmpV3Auth
from nxforge.sdk import plain
from nxforge.simulator import Simulator
from nxforge.simulator.snmp_objects import outlet_kwh
from tests.app.conftest import texts, write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR
from tests.app.endpoints_site import PLAIN_DEVICE, endpoints_path, seed_endpoints
from tests.app.test_endpoints_page import assert_clean, endpoints_page

mount_modules(MODULES_DIR)

from nxforge_modules.consumption_monitor.config import validate_text  # noqa: E402
from nxforge_modules.consumption_monitor.pages._endpoint_engines import (  # noqa: E402
    AUTH_PROTOCOLS,
    FRAMINGS,
    PRIV_PROTOCOLS,
    SNMP_VERSIONS,
    engine_choice,
    shown,
)
from nxforge_modules.consumption_monitor.pages._endpoint_files import new_file_text, new_item, with_new_item  # noqa: E402
from nxforge_modules.consumption_monitor.pages._endpoint_form import (  # noqa: E402
    FIELDS,
    apply_form,
    form_problems,
    form_values,
    preset_defaults,
)
from nxforge_modules.consumption_monitor.pages._endpoint_yaml import YamlDocument, parse_snippet  # noqa: E402

NEW = "ep-+new"
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


# --- the field logic, plain functions ---------------------------------------------------------------

def load(text: str) -> CommentedMap:
    """An endpoint's YAML (starting ``id: ...``) as the editor parses it (quotes kept)."""
    return parse_snippet(text, text.split("\n", 1)[0].removeprefix("id: "))


def dump(item: Any) -> str:
    return YamlDocument.dump_item(item)


WEB = """\
id: rack-1
name: Rack 1  # the first rack
client: acme
scrape:
  url: http://10.0.0.5/energy
  engine: http
  auth: {type: basic, username: admin, password: "${PDU_PASSWORD}"}
  values:
    total_kwh: {selector: "#kwh", regex: '([0-9.]+)', unit: kWh, max: 1000000}
  timeout_s: 5
"""


def test_the_option_lists_are_the_ones_the_config_accepts() -> None:
    def literal(model: Any, name: str) -> tuple[str, ...]:
        return get_args(model.model_fields[name].annotation)

    assert literal(SnmpCommunityAuth, "version") == SNMP_VERSIONS
    assert set(AUTH_PROTOCOLS) == set(literal(SnmpV3Auth, "auth_protocol"))
    assert set(PRIV_PROTOCOLS) == set(literal(SnmpV3Auth, "priv_protocol"))
    assert literal(ModbusOptions, "framing") == FRAMINGS


def test_each_engine_shows_only_its_fields_the_preset_deciding_when_the_form_does_not() -> None:
    def fields(values: dict[str, str]) -> set[str]:
        choice = engine_choice(values)
        return {f.key for f in FIELDS if shown(f.key, choice)}

    managed = {"auth_type", "username", "password", "regex", "version", "community", "auth_protocol", "auth_password",
               "priv_protocol", "priv_password", "context", "snmp_outlet", "snmp_unit", "unit_id", "framing"}
    web = fields({"preset": "plain"}) & managed
    assert web == {"auth_type", "username", "password", "regex"}
    assert fields({"preset": "", "engine": ""}) & managed == web  # browser, the default
    community = fields({"preset": "raritan-pdu2-outlet-snmp"}) & managed
    assert community == {"auth_type", "version", "community", "snmp_outlet", "snmp_unit"}
    v3 = fields({"preset": "raritan-pdu2-outlet-snmp", "auth_type": "snmp_v3"}) & managed
    assert v3 == {"auth_type", "username", "auth_protocol", "auth_password", "priv_protocol", "priv_password",
                  "context", "snmp_outlet", "snmp_unit"}
    assert fields({"preset": "eastron-sdm630"}) & managed == {"unit_id", "framing"}
    assert fields({"preset": "plain", "engine": "modbus"}) & managed == {"unit_id", "framing"}  # the form's engine
    assert fields({"preset": "eastron-sdm630", "engine": "snmp"}) & managed == community


def test_switching_to_snmp_removes_the_web_login_and_keeps_what_the_form_does_not_manage() -> None:
    item = load(WEB)
    values = form_values(item) | {"engine": "snmp", "url": "snmp://10.0.0.5", "auth_type": "snmp_community",
                                  "community": "${PDU_COMMUNITY}", "snmp_outlet": "3", "selector": "1.3.6.1.2.1.1.0"}
    apply_form(item, values)
    text = dump(item)
    assert "  auth: {type: snmp_community, community: \"${PDU_COMMUNITY}\"}\n" in text  # username, password gone
    assert "regex" not in text  # a web page's regex is refused under engine snmp
    assert "  snmp: {outlet: 3}\n" in text  # a YAML integer, not "3"
    assert item["scrape"]["snmp"]["outlet"] == 3 and type(item["scrape"]["snmp"]["outlet"]) is int
    assert "max: 1000000" in text and "timeout_s: 5" in text and "# the first rack" in text  # not the form's


def test_a_dropped_input_keeps_its_value_and_a_hidden_one_is_removed_even_when_dropped() -> None:
    item = load(WEB.replace("engine: http", "engine: snmp").replace(
        '{type: basic, username: admin, password: "${PDU_PASSWORD}"}',
        '{type: snmp_community, community: "${PDU_COMMUNITY}", version: "1"}'))
    values = form_values(item)
    del values["community"], values["version"]  # Streamlit dropped these inputs' state
    apply_form(item, values)
    assert item["scrape"]["auth"] == {"type": "snmp_community", "community": "${PDU_COMMUNITY}", "version": "1"}
    # v3 chosen: the community and version have no use any more, drawn or not.
    apply_form(item, {"auth_type": "snmp_v3", "username": "nxforge", "auth_password": "${SNMP_AUTH_KEY}",
                      "priv_password": "${SNMP_PRIV_KEY}"})
    assert dict(item["scrape"]["auth"]) == {"type": "snmp_v3", "username": "nxforge",
                                            "auth_password": "${SNMP_AUTH_KEY}", "priv_password": "${SNMP_PRIV_KEY}"}
    # Back to a community: the v3 user and keys go.
    apply_form(item, {"auth_type": "snmp_community", "community": "${PDU_COMMUNITY}"})
    assert dict(item["scrape"]["auth"]) == {"type": "snmp_community", "community": "${PDU_COMMUNITY}"}


def test_switching_to_modbus_removes_auth_and_snmp_fields_but_not_unmanaged_keys() -> None:
    item = load("id: m\nname: M\nclient: acme\nscrape:\n  preset: raritan-pdu2-outlet-snmp\n  url: snmp://h\n"
                "  auth: {type: snmp_v3, username: u, auth_password: \"${A}\", priv_password: \"${P}\", "
                "context: ctx}\n  snmp: {outlet: 4, unit: 2, walk_cache_s: 10}\n")
    apply_form(item, {"preset": "eastron-sdm630", "url": "modbus://h", "unit_id": "2", "framing": "rtu"})
    assert "auth" not in item["scrape"]  # Modbus has no login: every key of it the form manages
    assert dict(item["scrape"]["snmp"]) == {"walk_cache_s": 10}  # not the form's: left for config check to name
    assert dict(item["scrape"]["modbus"]) == {"unit_id": 2, "framing": "rtu"}
    assert "  modbus: {unit_id: 2, framing: rtu}\n" in dump(item)
    # A basic login typed under snmp is dropped too: a known login type of another engine.
    web = load(WEB)
    apply_form(web, {"engine": "snmp", "auth_type": "basic"})
    assert "auth" not in web["scrape"]


def test_changing_the_outlet_of_a_hand_written_snmp_endpoint_changes_that_number_only() -> None:
    text = ("id: pdu-b3-outlet-3\nname: Outlet 3\nclient: acme\nscrape:\n"
            "  preset: raritan-pdu2-outlet-snmp          # mode walk: the outlets of one PDU share one walk\n"
            "  url: snmp://127.0.0.1:16100\n"
            "  auth: {type: form, login_url: /login, community: \"${PDU_COMMUNITY}\"}  # half-converted\n"
            "  snmp: {outlet: 3, walk_cache_s: 10}   # reads ...4.1.3.8\n")
    item = load(text)
    apply_form(item, form_values(item) | {"snmp_outlet": "5"})
    # form is a web login, of no use under snmp: removed; login_url is not the form's; comments stay in place.
    assert dump(item) == text.replace("outlet: 3", "outlet: 5").replace(
        '{type: form, login_url: /login, community: "${PDU_COMMUNITY}"}  #',
        '{login_url: /login, community: "${PDU_COMMUNITY}"}              #')


def test_an_endpoint_written_by_the_form_alone_is_valid_for_each_engine(tmp_path: Path) -> None:
    forms = {
        "snmp-get": {"engine": "snmp", "url": "snmp://10.0.0.5", "auth_type": "snmp_community", "version": "1",
                     "community": "${PDU_COMMUNITY}", "selector": "1.3.6.1.4.1.318.1.1.26.4.3.1.9.1", "unit": "kWh"},
        "snmp-v3": {"preset": "sentry4-outlet-snmp", "url": "snmp://10.0.0.6", "auth_type": "snmp_v3",
                    "username": "ops", "auth_protocol": "SHA256", "auth_password": "${A}", "priv_protocol": "none",
                    "snmp_outlet": "7", "snmp_unit": "2"},
        "modbus": {"engine": "modbus", "url": "modbus://10.0.0.7:502", "unit_id": "12", "framing": "rtu",
                   "selector": "input:0x48", "unit": "kWh"},
    }
    items = [apply_form(new_item(key), {"name": key, "client": "acme"} | values) for key, values in forms.items()]
    text = "clients: [{name: acme}]\n" + new_file_text(items[0]).split("\n", 1)[1]
    for item in items[1:]:
        text = with_new_item(YamlDocument.load(tmp_path / "x.yaml", text), item)
    parsed, _ = validate_text(tmp_path / "x.yaml", text)
    by_id = {endpoint.id: endpoint.scrape for endpoint in parsed.endpoints}
    assert by_id["snmp-get"].auth.type == "snmp_community" and by_id["snmp-get"].auth.version == "1"
    assert by_id["snmp-v3"].snmp is not None and (by_id["snmp-v3"].snmp.outlet, by_id["snmp-v3"].snmp.unit) == (7, 2)
    assert by_id["modbus"].modbus is not None and by_id["modbus"].modbus.unit_id == 12
    assert '      values:\n        total_kwh: {selector: "input:0x48", unit: kWh}\n' in text


def test_form_values_and_apply_form_round_trip_byte_for_byte() -> None:
    for text in (WEB, "id: p\nname: P\nclient: acme\nscrape:\n  preset: raritan-pdu2-outlet-snmp\n"
                 "  url: snmp://10.0.0.9:161\n"
                 "  auth: {type: snmp_v3, username: u, auth_protocol: SHA, auth_password: \"${A}\", "
                 "priv_protocol: AES, priv_password: \"${P}\"}  # authPriv\n"
                 "  snmp: {outlet: 12, unit: 2, walk_cache_s: 10}\n",
                 "id: m\nname: M\nclient: acme\nscrape:\n  engine: modbus\n  url: modbus://h:502\n"
                 "  modbus: {framing: rtu, unit_id: 7, type: int64}\n  values:\n    total_kwh: {selector: "
                 "\"holding:3203\"}\n"):
        item = load(text)
        values = form_values(item)
        assert dump(apply_form(item, values)) == dump(load(text))
        assert form_problems(values) == {}


def test_form_problems_refuse_literal_secrets_and_fractional_outlets_for_the_engine_shown() -> None:
    snmp = {"preset": "raritan-pdu2-outlet-snmp", "community": "public", "snmp_outlet": "3.5", "unit_id": "x"}
    problems = form_problems(snmp)
    assert "never the community itself" in problems["community"]
    assert problems["snmp_outlet"] == "'3.5' is not a whole number (0, 1, 2 ...)"
    assert "unit_id" not in problems  # hidden under snmp, and removed on save
    v3 = form_problems({"engine": "snmp", "auth_type": "snmp_v3", "auth_password": "sim-auth-pass"})
    assert "never the auth password itself" in v3["auth_password"]
    assert preset_defaults({"scrape": {"preset": "raritan-pdu2-outlet-snmp"}})["community"] == "${SNMP_COMMUNITY}"
    assert preset_defaults({"scrape": {"preset": "eastron-sdm630"}})["unit_id"] == "1"


# --- the page, against the simulator ----------------------------------------------------------------

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


SELECTS = {f.key for f in FIELDS if f.kind == "select"}


def key(name: str, endpoint: str = NEW) -> str:
    return f"{endpoint}-id" if name == "id" and endpoint == NEW else f"{endpoint}-f-{name}"


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
    return {w.key[len(prefix):] for w in [*at.text_input, *at.selectbox] if w.key and w.key.startswith(prefix)}


def metric_kwh(at: AppTest) -> float:
    (metric,) = [m for m in at.metric if m.label == plain("total_kwh")]
    number, unit = metric.value.split()
    assert unit == "kWh"
    return float(number.replace(",", ""))


@SQLITE
def test_an_snmp_outlet_endpoint_from_the_form_reads_the_agent_and_writes_the_docs_yaml(
    site: Environment, sim: Simulator
) -> None:
    path = endpoints_path(site)
    before = path.read_text()
    at = endpoints_page("ops").button(key="ep-new-btn").click().run()
    assert_clean(at)
    assert {"community", "snmp_outlet", "unit_id"}.isdisjoint(inputs(at)) and "password" in inputs(at)
    at = fill(at, id="pdu-b3-outlet-3", name="Rack B3, PDU A, outlet 3", client="acme",
              preset="raritan-pdu2-outlet-snmp", url=sim.snmp_url(PLAIN_DEVICE))
    drawn = inputs(at)
    assert {"auth_type", "version", "community", "snmp_outlet", "snmp_unit", "selector", "unit"} <= drawn
    assert drawn.isdisjoint({"password", "regex", "username", "unit_id", "framing", "auth_password"})
    assert "Reads with the snmp engine (from the preset)." in texts(at.caption).replace("\\", "")
    assert at.selectbox(key=key("auth_type")).options == ["(none)", "snmp_community", "snmp_v3"]
    at = fill(at, community="public", snmp_outlet="3")  # a literal community: refused under its field
    at = at.button(key=f"{NEW}-create").click().run()
    assert_clean(at)
    assert "never the community itself" in texts(at.error).replace("\\", "")
    assert path.read_text() == before
    at = fill(at, community="${PDU_COMMUNITY}")
    at = at.button(key=f"{NEW}-test-btn").click().run()  # Test reading: outlet 3 over SNMP, nothing written
    assert_clean(at)
    assert "with the snmp engine" in texts(at.success)
    assert metric_kwh(at) == pytest.approx(outlet_kwh(sim.displayed_kwh(PLAIN_DEVICE), 3), abs=0.01)
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
        "      snmp: {outlet: 3}\n"
    )
    # In the editor: SNMP v3 replaces the community, the editor's Test reads with it, Save writes it.
    endpoint = "ep-pdu-b3-outlet-3"
    assert at.selectbox(key="ep-selected").value == "pdu-b3-outlet-3"
    assert at.text_input(key=key("snmp_outlet", endpoint)).value == "3"
    at = fill(at, endpoint, auth_type="snmp_v3", username=sim.snmp_credentials.user,
              auth_password="${SNMP_AUTH_KEY}", priv_password="${SNMP_PRIV_KEY}")
    assert "community" not in inputs(at, endpoint) and "auth_password" in inputs(at, endpoint)
    at = at.button(key=f"{endpoint}-test-btn").click().run()
    assert_clean(at)
    assert metric_kwh(at) == pytest.approx(outlet_kwh(sim.displayed_kwh(PLAIN_DEVICE), 3), abs=0.01)
    at = at.button(key=f"{endpoint}-save").click().run()
    assert_clean(at)
    text = path.read_text()
    assert ('      auth: {type: snmp_v3, username: nxforge, auth_password: "${SNMP_AUTH_KEY}", '
            'priv_password: "${SNMP_PRIV_KEY}"}\n') in text
    assert "community" not in text[len(before):]


@SQLITE
def test_a_modbus_endpoint_from_the_form_reads_the_meter_and_writes_its_unit_id(
    site: Environment, sim: Simulator
) -> None:
    path = endpoints_path(site)
    before = path.read_text()
    at = endpoints_page("ops").button(key="ep-new-btn").click().run()
    at = fill(at, id="panel-3-main", name="Panel 3, main meter", client="acme", preset="eastron-sdm630",
              url=sim.modbus_url(PLAIN_DEVICE))
    drawn = inputs(at)
    assert {"unit_id", "framing", "selector", "unit"} <= drawn
    assert drawn.isdisjoint({"auth_type", "username", "password", "community", "regex", "snmp_outlet"})
    assert at.text_input(key=key("unit_id")).placeholder == "preset: 1"
    at = fill(at, unit_id="1.5")
    at = at.button(key=f"{NEW}-test-btn").click().run()
    assert "'1.5' is not a whole number" in texts(at.error).replace("\\", "")
    assert not at.metric
    at = fill(at, unit_id="1", framing="tcp")
    at = at.button(key=f"{NEW}-test-btn").click().run()
    assert_clean(at)
    assert "with the modbus engine" in texts(at.success)
    assert metric_kwh(at) == pytest.approx(sim.displayed_kwh(PLAIN_DEVICE), abs=0.01)
    assert path.read_text() == before
    at = at.button(key=f"{NEW}-create").click().run()
    assert_clean(at)
    assert path.read_text() == before + (
        "  - id: panel-3-main\n"
        "    name: Panel 3, main meter\n"
        "    client: acme\n"
        "    scrape:\n"
        "      preset: eastron-sdm630\n"
        f"      url: {sim.modbus_url(PLAIN_DEVICE)}\n"
        "      modbus: {unit_id: 1, framing: tcp}\n"
    )
    at = at.button(key="ep-panel-3-main-test-btn").click().run()  # the editor's Test, on the saved endpoint
    assert_clean(at)
    assert metric_kwh(at) == pytest.approx(sim.displayed_kwh(PLAIN_DEVICE), abs=0.01)


@SQLITE
def test_a_web_endpoint_switched_to_snmp_in_the_editor_saves_without_its_web_login(
    site: Environment, sim: Simulator
) -> None:
    path = endpoints_path(site)
    at = endpoints_page("ops")
    at.selectbox(key="ep-selected").set_value("plain-b").run()
    endpoint = "ep-plain-b"
    at = fill(at, endpoint, auth_type="basic", username="admin", password="${PDU_PASSWORD}")
    assert at.selectbox(key=key("auth_type", endpoint)).value == "basic"
    at = fill(at, endpoint, preset="raritan-pdu2-snmp", engine="", url=sim.snmp_url(PLAIN_DEVICE))
    assert at.selectbox(key=key("auth_type", endpoint)).value == ""  # basic is no SNMP login
    assert "password" not in inputs(at, endpoint) and "community" in inputs(at, endpoint)
    at = fill(at, endpoint, community="${PDU_COMMUNITY}")
    at = at.button(key=f"{endpoint}-test-btn").click().run()
    assert_clean(at)
    assert metric_kwh(at) == pytest.approx(sim.displayed_kwh(PLAIN_DEVICE), abs=0.01)
    at = at.button(key=f"{endpoint}-save").click().run()
    assert_clean(at)
    text = path.read_text()
    block = text[text.index("  - id: plain-b"):]
    assert block == (
        "  - id: plain-b\n"
        "    name: Rack 02 feed A\n"
        "    client: acme\n"
        "    location: room 2\n"
        "    circuit_max_kw: 7.4\n"
        "    scrape:\n"
        "      preset: raritan-pdu2-snmp\n"
        f'      url: "{sim.snmp_url(PLAIN_DEVICE)}"\n'
        '      auth: {community: "${PDU_COMMUNITY}"}\n'
    )
