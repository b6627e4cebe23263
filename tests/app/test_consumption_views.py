"""Live (load, racks, the A/B check), Energy, Power and History in AppTest, on the real module and readings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
import streamlit as st
from sqlalchemy import create_engine, text

from nxforge.app.session import SESSION_USER
from nxforge.environment import Environment
from nxforge.formatting import status_hex
from tests.app.conftest import app_test, open_page, texts, write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR, seed_consumption

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ENDPOINTS = 8


@pytest.fixture
def site(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    """Eight endpoints (1.5 kW each) in four racks, feeds A and B, on 2 kW circuits: every rack fails A/B."""
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    env = Environment.from_environ()
    write_core_config(env, [])
    write_users(env)
    seed_consumption(env, endpoints=ENDPOINTS)
    engine = create_engine(env.database_url())
    with engine.begin() as conn:
        for number in range(ENDPOINTS):
            conn.execute(text("UPDATE cm_endpoint SET circuit_max_kw = :kw, location = :loc WHERE id = :id"),
                         {"kw": 2.0 if number != 1 else 4.0, "id": f"ep-{number:04d}",
                          "loc": f"Room 1 / Row A / Rack {number // 2 + 1:02d}"})
    engine.dispose()
    yield env
    st.cache_data.clear()
    st.cache_resource.clear()


def app(username: str):  # type: ignore[no-untyped-def]
    at = app_test(default_timeout=60)
    at.session_state[SESSION_USER] = username
    return at


def _chart(at, index: int = 0) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def _label_colours(at) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """Per coloured column of the first table: the colour each label is drawn in."""
    columns = json.loads(at.dataframe[0].proto.columns)
    return {name: {option["value"]: option["color"] for option in column["type_config"]["options"]}
            for name, column in columns.items() if column.get("type_config", {}).get("type") == "multiselect"}


def test_live_shows_power_load_and_counts_that_follow_filters(site: Environment) -> None:
    at = app("viewer").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert len(table) == ENDPOINTS
    assert "None" not in table.to_string()
    ok_rows = table[~table["Power"].str.startswith("—")]
    assert set(ok_rows["Power"]) == {"1.50 kW"}
    loads = dict(zip(table["Endpoint"], (cell[0] for cell in table["Load"]), strict=True))  # coloured labels
    assert loads["ep-0002"] == "75 %" and loads["ep-0001"] in ("38 %", "—")
    colours = _label_colours(at)
    assert colours["Load"]["75 %"] == status_hex("ok") and colours["Status"]["failing"] == status_hex("failing")
    assert all(" kWh" in value for value in table["Counter"] if value != "—")
    metrics = {m.label: m.value for m in at.metric}
    total_failing = int(metrics["failing"])
    at.multiselect(key="live-client").select("client-0").run()
    metrics = {m.label: m.value for m in at.metric}
    assert sum(int(metrics[s]) for s in ("ok", "stale", "failing", "never", "disabled")) == 2  # ep-0000, ep-0007
    assert int(metrics["failing"]) <= total_failing and int(metrics["failing"]) == 1  # ep-0000 failed last


def test_live_racks_put_feeds_side_by_side_and_flag_the_ab_check(site: Environment) -> None:
    at = app("viewer").run()
    at.segmented_control(key="live-view").set_value("Racks").run()
    assert not at.exception, [e.value for e in at.exception]
    racks = at.dataframe[0].value
    assert list(racks["Rack"]) == ["Rack 01", "Rack 02", "Rack 03", "Rack 04"]
    rack2 = racks[racks["Rack"] == "Rack 02"].iloc[0]
    assert (rack2["Feed A"], rack2["Feed B"], rack2["A+B"]) == ("1.50 kW", "1.50 kW", "3.00 kW")
    assert rack2["A/B check"][0] == "one feed cannot carry it" and rack2["A+B on one feed"][0] == "150 %"
    colours = _label_colours(at)
    assert colours["A/B check"]["one feed cannot carry it"] == status_hex("alarm")
    assert colours["A+B on one feed"]["150 %"] == status_hex("alarm")
    assert "flagged by the A/B check" in texts(at.caption)
    assert "None" not in racks.to_string()


def test_energy_draws_bars_per_month_stacked_by_client(site: Environment) -> None:
    at = open_page(app("viewer").run(), "consumption-monitor-energy")
    assert not at.exception, [e.value for e in at.exception]
    at.segmented_control(key="energy-bars").set_value("Month").run()
    at.segmented_control(key="energy-stack").set_value("Client").run()
    if "No readings in this period" in texts(at.info):  # the clock is in another year than the seed
        pytest.skip("the seeded readings are not in the current year")
    spec = _chart(at)
    bars = [trace for trace in spec["data"] if trace["type"] == "bar"]
    assert {trace["name"] for trace in bars} == {f"client-{n}" for n in range(7)}
    # each endpoint rose 1.5 kWh per hour over 42 hours between its first and last good reading
    drawn = sum(y for trace in bars for y in trace["y"])
    failed_last = 1  # ep-0000 lost its last reading (6 hours)
    assert drawn == pytest.approx(ENDPOINTS * 42 * 1.5 - failed_last * 6 * 1.5)
    assert spec["layout"]["xaxis"]["rangeselector"]["buttons"]
    at.button(key="energy-back").click().run()
    assert not at.exception and at.session_state["energy-offset"] == -1


def test_power_draws_kw_with_the_rating_line(site: Environment) -> None:
    at = open_page(app("viewer").run(), "consumption-monitor-power")
    at.date_input(key="power-dates").set_value((date(2026, 3, 1), date(2026, 3, 2))).run()
    assert not at.exception, [e.value for e in at.exception]
    spec = _chart(at)
    lines = {trace["name"]: trace for trace in spec["data"]}
    assert set(lines) == {"ep-0000", "ep-0001"}
    assert {y for y in lines["ep-0001"]["y"] if y is not None} == {1.5}
    shapes = [shape for shape in spec["layout"]["shapes"] if shape.get("y0") == shape.get("y1")]
    assert {shape["y0"] for shape in shapes} == {2.0, 4.0}
    assert lines["ep-0000"]["line"]["color"] != lines["ep-0001"]["line"]["color"]


def test_history_draws_energy_not_the_counter(site: Environment) -> None:
    at = open_page(app("ops").run(), "consumption-monitor-history")
    at.selectbox(key="hist-range").select("1 year").run()
    assert not at.exception, [e.value for e in at.exception]
    spec = _chart(at)
    daily = [y for trace in spec["data"] for y in trace.get("y") or [] if y is not None]
    assert daily and max(daily) < 100  # kWh per day of a 1.5 kW endpoint, not a counter near 1,000 kWh
    monthly = _chart(at, 1)
    assert monthly["layout"]["xaxis"]["type"] == "category"
    assert monthly["data"][0]["marker"]["color"] == spec["data"][0]["line"]["color"]
