"""The core pages' query functions, called directly on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from nxforge.app import queries
from nxforge.audit import record_audit
from nxforge.db.schema import events, executions
from nxforge.environment import Environment
from nxforge.platform import Platform
from tests.conftest import copy_fixture_module

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def platform(nx_env: Environment) -> Iterator[Platform]:
    copy_fixture_module(nx_env, "hello_module")
    copy_fixture_module(nx_env, "broken_module")
    created = Platform(nx_env)
    rows = [
        ("hello-module", "greet", "ok", T0, 2.0, {"greetings": 1}, None, "INFO greeting world"),
        ("hello-module", "greet", "failed", T0 + timedelta(hours=1), 1.0, None, "RuntimeError: no", "ERROR no"),
        ("hello-module", "flaky", "ok", T0 + timedelta(hours=2), 0.5, None, None, None),
        ("other", "sync", "timeout", T0 - timedelta(days=10), 60.0, None, "stopped", None),
        ("other", "sync", "running", T0 + timedelta(hours=3), None, None, None, None),
    ]
    with created.engine.begin() as conn:
        for module, job, status, started, took, summary, error, log in rows:
            finished = started + timedelta(seconds=took) if took is not None else None
            conn.execute(
                insert(executions).values(
                    module=module, job=job, trigger="once", status=status, attempt=1, started_at=started,
                    finished_at=finished, summary=summary, error=error, log=log, host="h",
                )
            )  # fmt: skip
        for at, module, kind, severity in [
            (T0, "hello-module", "greeting.sent", "info"),
            (T0 + timedelta(minutes=5), "hello-module", "greeting.failed", "error"),
            (T0 + timedelta(minutes=9), "core", "module.enabled", "info"),
        ]:
            conn.execute(
                insert(events).values(at=at, module=module, kind=kind, severity=severity, message=kind, data={"n": 1})
            )
    yield created
    created.close()


def test_last_runs_has_the_latest_run_of_each_job(platform: Platform) -> None:
    frame = queries.last_runs(platform.engine)
    latest = {(r["module"], r["job"]): r["status"] for r in frame.iter_rows(named=True)}
    assert latest == {
        ("hello-module", "greet"): "failed",
        ("hello-module", "flaky"): "ok",
        ("other", "sync"): "running",
    }
    assert frame["started_at"].dtype == queries.UTC_TIME
    running = frame.filter(frame["status"] == "running")
    assert running["duration_s"].to_list() == [None]


def test_recent_failures_respects_the_window(platform: Platform) -> None:
    frame = queries.recent_failures(platform.engine, since=T0 - timedelta(days=1))
    assert frame.select("job", "status", "error").rows() == [("greet", "failed", "RuntimeError: no")]
    assert queries.recent_failures(platform.engine, since=T0 - timedelta(days=30)).height == 2


def test_list_executions_filters(platform: Platform) -> None:
    every = queries.list_executions(platform.engine)
    assert every.height == 5 and every["started_at"].is_sorted(descending=True)
    assert queries.list_executions(platform.engine, module="other").height == 2
    assert queries.list_executions(platform.engine, job="greet", statuses=("ok",))["summary"].to_list() == [
        '{"greetings": 1}'
    ]
    window = queries.list_executions(platform.engine, start=T0, end=T0 + timedelta(hours=2))
    assert window["job"].to_list() == ["greet", "greet"]
    assert queries.list_executions(platform.engine, module="nobody").is_empty()
    assert queries.list_executions(platform.engine, module="nobody").columns == list(queries.EXECUTION_SCHEMA)


def test_execution_log_and_filter_options(platform: Platform) -> None:
    failed = queries.list_executions(platform.engine, statuses=("failed",))["id"][0]
    assert queries.execution_log(platform.engine, failed) == "ERROR no"
    assert queries.execution_log(platform.engine, 99999) == ""
    options = queries.execution_filter_options(platform.engine)
    assert options == {
        "module": ["hello-module", "other"],
        "job": ["flaky", "greet", "sync"],
        "status": ["failed", "ok", "running", "timeout"],
    }


def test_list_events_filters(platform: Platform) -> None:
    assert queries.list_events(platform.engine)["kind"].to_list() == [
        "module.enabled",
        "greeting.failed",
        "greeting.sent",
    ]
    errors = queries.list_events(platform.engine, severities=("error", "critical"))
    assert errors.select("kind", "data").rows() == [("greeting.failed", '{"n": 1}')]
    assert queries.list_events(platform.engine, module="core", kind="module.enabled").height == 1
    assert (
        queries.list_events(platform.engine, start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=9)).height == 1
    )
    assert queries.event_filter_options(platform.engine) == {
        "module": ["core", "hello-module"],
        "kind": ["greeting.failed", "greeting.sent", "module.enabled"],
    }


def test_audit_entries_by_prefix(platform: Platform) -> None:
    record_audit(platform.engine, "app:ada", "user.add", "grace", {"role": "ops"})
    record_audit(platform.engine, "app:ada", "module.disable", "hello-module")
    users = queries.audit_entries(platform.engine, action_prefix="user.")
    assert users.select("actor", "action", "target", "detail").rows() == [
        ("app:ada", "user.add", "grace", '{"role": "ops"}')
    ]
    assert queries.audit_entries(platform.engine).height == 2


def test_module_overview_lists_broken_modules_too(platform: Platform) -> None:
    frame = queries.module_overview(platform)
    rows = {r["name"]: r for r in frame.iter_rows(named=True)}
    assert rows["hello-module"]["status"] == "disabled"
    assert rows["hello-module"]["pages"] == 1 and rows["hello-module"]["jobs"] == 3
    assert rows["broken-module"]["status"] == "broken"
