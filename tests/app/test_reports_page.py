"""The Reports page in AppTest with the real module and real readings: month states, statements,
Close (finance, confirming estimates), Reopen (admin only), one computation per rerun."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from sqlalchemy import select

from nxforge.app.session import SESSION_USER
from nxforge.db.schema import audit_log
from nxforge.environment import Environment
from nxforge.platform import Platform
from tests.app.conftest import app_test, open_page, texts, write_core_config, write_users
from tests.app.consumption_site import MODULES_DIR, seed_consumption

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
MONTH = "2026-03"  # the month consumption_site seeds
PAGE = "consumption-monitor-reports"


@pytest.fixture
def cm_site(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES_DIR))
    monkeypatch.setenv("NXFORGE_LOG_LEVEL", "WARNING")
    env = Environment.from_environ()
    write_core_config(env, [])
    write_users(env)
    seed_consumption(env, endpoints=14)
    yield env
    st.cache_data.clear()
    st.cache_resource.clear()


def app(username: str):  # type: ignore[no-untyped-def]
    at = app_test(default_timeout=60)
    at.session_state[SESSION_USER] = username
    return at


def march(username: str):  # type: ignore[no-untyped-def]
    at = open_page(app(username).run(), PAGE)
    at.selectbox(key="report-month").select(MONTH).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def audit_actions(env: Environment) -> list[tuple[str, str, str]]:
    platform = Platform(env)
    try:
        with platform.engine.connect() as conn:
            return [(r.actor, r.action, r.target) for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]
    finally:
        platform.close()


def test_finance_sees_statements_and_closes_the_month_confirming_estimates(cm_site: Environment) -> None:
    at = march("finance")
    assert at.title[0].value == "Billing reports"
    assert {m.label: m.value for m in at.metric}["State"] == "open"
    statements = at.dataframe[0].value
    assert len(statements) == 7 and statements["number"].tolist()[0] == "ST-202603-CLIENT-0"
    labels = [button.label.replace("\\", "") for button in at.get("download_button")]  # labels are plain()
    assert "PDF (all clients)" in labels and "Dispute pack (client-0)" in labels and "Accounting CSV (all clients)" \
        in labels
    assert not [b for b in at.button if b.key == "reopen-month"]  # finance does not reopen
    at.button(key="close-month").click().run()  # the seeded readings are 6 h apart: estimated, unconfirmed
    assert "estimated over 20%" in texts(at.error).replace("\\", "")  # shown through plain()
    at.checkbox(key="close-confirm").check().run()
    at.button(key="close-month").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["State"] == "closed v1"
    assert ("app:finance", "billing.close", MONTH) in audit_actions(cm_site)
    assert not [b for b in at.button if b.key == "close-month"]


def test_admin_reopens_and_the_next_close_is_version_2(cm_site: Environment) -> None:
    at = march("admin")
    at.checkbox(key="close-confirm").check().run()
    at.button(key="close-month").click().run()
    at.text_input(key="reopen-why").input("the swap on ep-0003 was recorded late").run()
    at.button(key="reopen-month").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["State"] == "reopened (v1 kept)"
    assert ("app:admin", "billing.reopen", MONTH) in audit_actions(cm_site)
    at.checkbox(key="close-confirm").check().run()
    at.button(key="close-month").click().run()
    assert {m.label: m.value for m in at.metric}["State"] == "closed v2"
    assert at.dataframe[0].value["number"].tolist()[0] == "ST-202603-CLIENT-0-V2"


def test_the_month_is_computed_once_per_rerun(cm_site: Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    from nxforge_modules.consumption_monitor import billing

    calls: list[object] = []
    real = billing.statement_lines

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("client"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(billing, "statement_lines", counted)
    at = march("finance")
    calls.clear()
    at.run()
    assert calls == [None]
