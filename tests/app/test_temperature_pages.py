"""The temperature monitor's pages in AppTest, per role, with the real module and real readings on SQLite:
site times, human labels with units, no "None", limits labelled per kind, stable colours, text shown as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
import yaml
from sqlalchemy import Column, Float, MetaData, String, Table, select
from streamlit.testing.v1 import AppTest

from nxforge.app.navigation import plan_navigation
from nxforge.app.session import SESSION_USER
from nxforge.db.engine import create_db_engine
from nxforge.db.types import UTCDateTime
from nxforge.environment import Environment
from nxforge.platform import Platform
from tests.app.conftest import app_test, open_page, write_core_config, write_users
from tests.app.temperature_site import MODULES_DIR, SENSORS, forget_module, seed_temperatures

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

ALL_ROLES = ["viewer", "finance", "ops", "admin"]
ALERT_ROLES = ["viewer", "ops", "admin"]  # the manifest's roles for the alerts page
RUNS = 6
PARIS = ZoneInfo("Europe/Paris")  # write_core_config's site zone
READINGS = Table("tm_readings", MetaData(), Column("sensor_id", String), Column("at", UTCDateTime),
                 Column("value", Float))
ODD_NAME = "[R09](http://evil.example) <b>hot</b> *aisle*"
"""A sensor name and location that would be a link, HTML and emphasis if rendered as markup."""


@pytest.fixture
def tm_site(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("BMC_PASSWORD", "secret")
    env = Environment.from_environ()
    write_core_config(env, [])
    write_users(env)
    assert seed_temperatures(env, normal_runs=2, hot_runs=RUNS - 2) == RUNS
    yield env
    st.cache_data.clear()
    st.cache_resource.clear()
    forget_module()


def app(username: str) -> AppTest:
    at = app_test(default_timeout=60)
    at.session_state[SESSION_USER] = username
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> list[dict[str, Any]]:
    """The Plotly figures on the page, as the JSON the browser would get."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def labels(at: AppTest, index: int = 0) -> dict[str, str]:
    """Column name -> the label st.column_config gives it."""
    config = json.loads(at.dataframe[index].proto.columns or "{}")
    return {name: entry.get("label", name) for name, entry in config.items()}


def readings_of(env: Environment, sensor_id: str) -> list[tuple[str, float]]:
    """(time in the site's zone as Plotly gets it, value) of every stored reading of a sensor, oldest first."""
    engine = create_db_engine(env.database_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(READINGS.c.at, READINGS.c.value).where(
                READINGS.c.sensor_id == sensor_id, READINGS.c.value.is_not(None)).order_by(READINGS.c.at)).all()
    finally:
        engine.dispose()
    return [(at.astimezone(PARIS).isoformat(), value) for at, value in rows]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_current_shows_every_sensor_with_units_site_times_and_levels(tm_site: Environment, role: str) -> None:
    at = open_page(app(role).run(), "temperature-monitor-current")
    assert_clean(at)
    assert at.title[0].value == "Temperatures now"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"ok": "7", "warning": "0", "critical": "1", "unknown": "0"}
    table = at.dataframe[0].value
    assert "None" not in table.to_string() and "nan" not in table.to_string()
    assert list(table["name"]) == list(SENSORS.values())
    rows = {row["sensor_id"]: row for row in table.to_dict("records")}
    assert rows["r01-inlet"]["reading"] == "45.0 °C" and rows["r01-inlet"]["level"] == "critical"
    assert rows["r01-inlet"]["kind"] == "Inlet temperature" and rows["r01-inlet"]["crossed"] == "high limit"
    assert rows["r02-inlet"]["reading"] == "24.0 °C" and rows["r02-inlet"]["level"] == "ok"
    assert rows["room-a-rh"]["reading"] == "45.0 %RH" and rows["room-a-rh"]["kind"] == "Humidity"
    assert rows["room-a-air"]["rack"] == "—" and rows["r01-cpu"]["crossed"] == "—"
    last_r01 = readings_of(tm_site, "r01-inlet")[-1][0]
    assert rows["r01-inlet"]["at"] == last_r01[:16].replace("T", " ")  # the site's wall clock, not UTC
    shown = labels(at)
    assert shown["name"] == "Sensor" and shown["at"] == "Last read (Europe/Paris)"
    assert shown["reading"] == "Reading (°C, %RH)" and shown["level"] == "Status"
    assert at.selectbox[0].value == "inlet"  # racks are judged on their inlet temperature
    (heatmap,) = charts(at)
    assert heatmap["data"][0]["type"] == "heatmap"
    assert 45.0 in [value for row in heatmap["data"][0]["z"] for value in row]  # R01's overheating inlet
    assert heatmap["data"][0]["colorbar"]["title"]["text"] == "°C"
    assert heatmap["layout"]["title"]["text"] == "Room A: inlet temperature (°C)"


def test_current_humidity_heatmap_is_in_percent_rh(tm_site: Environment) -> None:
    at = open_page(app("viewer").run(), "temperature-monitor-current")
    at.selectbox(key="tm-current-kind").select("humidity").run()
    assert_clean(at)
    (heatmap,) = charts(at)
    assert heatmap["data"][0]["colorbar"]["title"]["text"] == "%RH"
    assert heatmap["data"][0]["z"] == [[45.0]]
    assert heatmap["data"][0]["x"] == ["no rack"]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_trends_draws_the_readings_in_site_time_and_labelled_limits(tm_site: Environment, role: str) -> None:
    at = open_page(app(role).run(), "temperature-monitor-trends")
    assert_clean(at)
    assert at.title[0].value == "Temperature trends"
    assert at.multiselect[0].value == ["r01-inlet", "r01-exhaust", "r01-cpu"]
    (figure,) = charts(at)
    lines = {trace["name"]: trace for trace in figure["data"]}
    assert set(lines) == {"R01 inlet", "R01 exhaust", "R01 cpu"}
    stored = readings_of(tm_site, "r01-inlet")
    assert len(stored) == RUNS
    assert list(zip(lines["R01 inlet"]["x"], lines["R01 inlet"]["y"], strict=True)) == stored
    assert lines["R01 inlet"]["y"][0] == 22.0 and lines["R01 inlet"]["y"][-1] == 45.0
    limits = sorted(shape["y0"] for shape in figure["layout"]["shapes"])
    assert limits == [27, 32]  # the inlet group's warning and critical limits
    texts = sorted(note["text"] for note in figure["layout"]["annotations"])
    assert texts == ["Inlet temperature high critical 32.0 °C", "Inlet temperature high warning 27.0 °C"]
    assert figure["layout"]["xaxis"]["title"]["text"] == "time (Europe/Paris)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Temperature (°C)"
    assert [b["label"] for b in figure["layout"]["xaxis"]["rangeselector"]["buttons"]] == [
        "6h", "1d", "1w", "1m", "all"]
    table = at.dataframe[0].value
    assert "None" not in table.to_string()
    kinds = {row["kind"]: row for row in table.to_dict("records")}
    assert kinds["Inlet temperature"]["unit"] == "°C" and kinds["Inlet temperature"]["high_warning"] == "27.0 °C"
    assert kinds["Exhaust temperature"]["high_warning"] == "—"  # no exhaust group on this site
    assert labels(at)["high_critical"] == "High critical" and labels(at)["kind"] == "Kind"
    assert [button.label for button in at.get("download_button")] == ["Download CSV"]


def test_trends_humidity_gets_its_own_chart_and_colours_stay(tm_site: Environment) -> None:
    at = open_page(app("viewer").run(), "temperature-monitor-trends")
    colour = {t["name"]: t["line"]["color"] for t in charts(at)[0]["data"]}["R01 inlet"]
    at.multiselect(key="tm-trend-sensors").set_value(["room-a-rh", "r02-inlet", "r01-inlet"]).run()
    assert_clean(at)
    temperatures, humidity = charts(at)
    assert {t["name"]: t["line"]["color"] for t in temperatures["data"]}["R01 inlet"] == colour
    assert humidity["layout"]["yaxis"]["title"]["text"] == "Humidity (%RH)"
    assert sorted(note["text"] for note in humidity["layout"]["annotations"]) == [
        "Humidity high warning 70.0 %RH", "Humidity low warning 20.0 %RH"]
    assert humidity["data"][0]["y"] == [45.0] * RUNS
    kinds = {row["kind"]: row for row in at.dataframe[0].value.to_dict("records")}
    assert kinds["Humidity"]["unit"] == "%RH" and kinds["Humidity"]["low_warning"] == "20.0 %RH"


def test_trends_free_dates_without_readings_say_so(tm_site: Environment) -> None:
    at = open_page(app("viewer").run(), "temperature-monitor-trends")
    past = date.today() - timedelta(days=40)
    at.date_input(key="tm-trend-dates").set_value((past, past + timedelta(days=2))).run()
    assert_clean(at)
    assert any("No readings in these dates" in info.value for info in at.info)
    assert all(not trace["y"] for trace in charts(at)[0]["data"])
    assert charts(at)[0]["layout"]["xaxis"]["range"][0].startswith(past.isoformat())


def test_names_from_config_are_shown_as_text(tm_site: Environment) -> None:
    folder = tm_site.config_dir / "temperature-monitor"
    odd = {"devices": [{"id": "odd", "location": ODD_NAME, "rack": "R09", "scrape": {
        "preset": "envprobe", "url": "http://127.0.0.1:9/"}, "sensors": [
        {"id": "odd-air", "name": ODD_NAME, "kind": "ambient", "value": "temperature_c"}]}]}
    (folder / "odd.yaml").write_text(yaml.safe_dump(odd), encoding="utf-8")
    at = open_page(app("viewer").run(), "temperature-monitor-trends")
    at.multiselect(key="tm-trend-sensors").set_value(["odd-air"]).run()
    assert_clean(at)
    (figure,) = charts(at)
    assert figure["data"][0]["name"] == "[R09](http://evil.example) &lt;b&gt;hot&lt;/b&gt; *aisle*"
    at = open_page(app("viewer").run(), "temperature-monitor-current")
    at.selectbox(key="tm-current-kind").select("ambient").run()
    assert_clean(at)
    titles = [figure["layout"]["title"]["text"] for figure in charts(at)]
    assert any(title.startswith("[R09](http://evil.example) &lt;b&gt;") for title in titles)
    names = list(at.dataframe[0].value["name"])
    assert ODD_NAME in names  # a table cell is plain text already


@pytest.mark.parametrize("role", ALERT_ROLES)
def test_alerts_lists_the_overheat_in_site_time(tm_site: Environment, role: str) -> None:
    at = open_page(app(role).run(), "temperature-monitor-alerts")
    assert_clean(at)
    assert at.title[0].value == "Temperature alerts"
    history = at.dataframe[0].value
    assert "None" not in history.to_string()
    raised = [row for row in history.to_dict("records") if row["transition"] == "raised"]
    assert [(r["sensor"], r["kind"], r["level"], r["value"], r["threshold"]) for r in raised] == [
        ("R01 inlet", "Inlet temperature", "critical", "45.0 °C", "32.0 °C")]
    assert "R01 inlet" in raised[0]["message"]
    times = {t for t, _value in readings_of(tm_site, "r01-inlet")}
    assert raised[0]["at"] in {t[:19].replace("T", " ") for t in times}  # a reading's instant, Paris time
    assert labels(at)["at"] == "When (Europe/Paris)" and labels(at)["threshold"] == "Limit (°C, %RH)"


def test_finance_cannot_reach_alerts(tm_site: Environment) -> None:
    platform = Platform(tm_site)
    try:
        paths = {role: plan_navigation(platform, role).url_paths for role in ALL_ROLES}
    finally:
        platform.close()
    assert "temperature-monitor-alerts" not in paths["finance"]
    assert "temperature-monitor-current" in paths["finance"]
    assert all("temperature-monitor-alerts" in paths[role] for role in ALERT_ROLES)
    at = open_page(app("finance").run(), "temperature-monitor-alerts")
    assert_clean(at)
    assert at.title[0].value == "Overview"  # an unknown URL opens the default page
    assert not [d for d in at.dataframe if "transition" in d.value.columns]
