"""The temperature monitor's pages in AppTest, per role, with the real module and real readings on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nxforge.app.navigation import plan_navigation
from nxforge.app.session import SESSION_USER
from nxforge.environment import Environment
from nxforge.platform import Platform
from tests.app.conftest import app_test, open_page, write_core_config, write_users
from tests.app.temperature_site import MODULES_DIR, SENSORS, forget_module, seed_temperatures

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

ALL_ROLES = ["viewer", "finance", "ops", "admin"]
ALERT_ROLES = ["viewer", "ops", "admin"]  # the manifest's roles for the alerts page
RUNS = 6


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


@pytest.mark.parametrize("role", ALL_ROLES)
def test_current_shows_every_sensor_and_the_hot_rack(tm_site: Environment, role: str) -> None:
    at = open_page(app(role).run(), "temperature-monitor-current")
    assert_clean(at)
    assert at.title[0].value == "Temperatures now"
    table = at.dataframe[0].value
    assert list(table["name"]) == list(SENSORS.values())
    rows = {row["sensor_id"]: row for row in table.to_dict("records")}
    assert rows["r01-inlet"]["value"] == 45.0 and rows["r01-inlet"]["level"] == "critical"
    assert rows["r02-inlet"]["value"] == 24.0 and rows["r02-inlet"]["level"] == "ok"
    assert at.selectbox[0].value == "inlet"  # racks are judged on their inlet temperature
    (heatmap,) = charts(at)
    assert heatmap["data"][0]["type"] == "heatmap"
    assert 45.0 in [value for row in heatmap["data"][0]["z"] for value in row]  # R01's overheating inlet


@pytest.mark.parametrize("role", ALL_ROLES)
def test_trends_draws_the_readings_and_limits(tm_site: Environment, role: str) -> None:
    at = open_page(app(role).run(), "temperature-monitor-trends")
    assert_clean(at)
    assert at.title[0].value == "Temperature trends"
    assert at.multiselect[0].value == ["r01-inlet", "r01-exhaust", "r01-cpu"]
    (figure,) = charts(at)
    lines = {trace["name"]: trace["y"] for trace in figure["data"]}
    assert set(lines) == {"R01 inlet", "R01 exhaust", "R01 cpu"}
    assert len(lines["R01 inlet"]) == RUNS
    assert lines["R01 inlet"][0] == 22.0 and lines["R01 inlet"][-1] == 45.0
    limits = sorted(shape["y0"] for shape in figure["layout"]["shapes"])
    assert limits == [27, 32]  # the inlet group's warning and critical limits


@pytest.mark.parametrize("role", ALERT_ROLES)
def test_alerts_lists_the_overheat(tm_site: Environment, role: str) -> None:
    at = open_page(app(role).run(), "temperature-monitor-alerts")
    assert_clean(at)
    assert at.title[0].value == "Temperature alerts"
    history = at.dataframe[0].value
    assert ("r01-inlet", "raised", "critical") in set(
        zip(history["sensor_id"], history["transition"], history["level"], strict=True)
    )
    assert "R01 inlet" in " ".join(history["message"])


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
