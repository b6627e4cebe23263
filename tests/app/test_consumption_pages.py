"""The consumption monitor's pages in AppTest with the real module and real readings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import streamlit as st

from nxforge.app.session import SESSION_USER
from nxforge.environment import Environment
from tests.app.conftest import app_test, open_page, texts, write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR, START, seed_consumption

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def cm_site(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    env = Environment.from_environ()
    write_core_config(env, [])
    write_users(env)
    seed_consumption(env, endpoints=30)
    yield env
    st.cache_data.clear()
    st.cache_resource.clear()


def app(username: str):  # type: ignore[no-untyped-def]

    at = app_test(default_timeout=60)
    at.session_state[SESSION_USER] = username
    return at


def test_live_is_the_default_page_and_lists_every_endpoint(cm_site: Environment) -> None:
    at = app("viewer").run()
    assert not at.exception
    assert at.title[0].value == "Live status"
    table = at.dataframe[0].value
    assert len(table) == 30
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["failing"] == "3"  # ep-0000, ep-0011, ep-0022 failed their last read
    at.multiselect(key="live-status").select("failing").run()
    assert len(at.dataframe[0].value) == 3


def test_reports_for_finance_and_not_for_viewer(cm_site: Environment) -> None:
    at = open_page(app("finance").run(), "consumption-monitor-reports")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Billing reports"
    assert "Traceback" not in texts(at.error)
    assert len(at.download_button) == 9  # 3 for all clients, 4 for one (its dispute pack too), the table 2
    viewer = open_page(app("viewer").run(), "consumption-monitor-reports")
    assert viewer.title[0].value == "Live status"


def test_history_draws_a_chart(cm_site: Environment) -> None:
    at = open_page(app("ops").run(), "consumption-monitor-history")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "History"
    _ = START + timedelta(hours=1)


def test_history_over_a_year_is_drawn_from_the_rollup(cm_site: Environment) -> None:
    import json

    at = open_page(app("ops").run(), "consumption-monitor-history")
    at.selectbox(key="hist-range").select("1 year").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Daily energy from the hourly rollup" in texts(at.caption)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    daily_kwh = [y for trace in spec["data"] for y in trace.get("y") or [] if y is not None]
    assert daily_kwh and sum(daily_kwh) > 0


def test_history_over_archived_months_reads_the_parquet_archive(cm_site: Environment) -> None:
    """March archived to Parquet and pruned from the database: the year's History still draws it, the same."""
    import json
    from zoneinfo import ZoneInfo

    from nxforge_modules.consumption_monitor.archive import archive_dir, archive_months
    from nxforge_modules.consumption_monitor.tables import reading
    from sqlalchemy import func, select

    from nxforge.platform import Platform

    def drawn() -> tuple[float, str]:
        at = open_page(app("ops").run(), "consumption-monitor-history")
        at.selectbox(key="hist-range").select("1 year").run()
        assert not at.exception, [e.value for e in at.exception]
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        return (sum(y for trace in spec["data"] for y in trace.get("y") or [] if y is not None),
                texts(at.caption))

    before, caption = drawn()
    assert before > 0 and "from the hourly rollup" in caption
    platform = Platform(cm_site)
    try:
        context = platform.context("consumption-monitor")
        report = archive_months(platform.engine, archive_dir(context.storage), ZoneInfo("Europe/Paris"),
                                context.clock(), keep_months=1)
        assert "2026-03" in report.pruned
        with platform.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(reading)).scalar_one() == 0
    finally:
        platform.close()
    st.cache_data.clear()
    after, caption = drawn()
    assert "from the Parquet archive and the hourly rollup" in caption
    assert after == pytest.approx(before)
