"""Jobs run through the collector: execution rows, captured logs, retries, timeouts, due decisions, locks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select, text

from nxforge.collector.due import is_due
from nxforge.collector.jobs import run_job
from nxforge.collector.locks import job_lock
from nxforge.collector.runner import Collector
from nxforge.db.schema import events, executions
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.module_system.manifest import Schedule
from nxforge.platform import Platform
from tests.conftest import copy_fixture_module


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def platform(nx_env: Environment, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("HELLO_TOKEN", "t0ken")
    copy_fixture_module(nx_env, "hello_module")
    nx_env.core_config_path.write_text(
        yaml.safe_dump({"modules": {"settings": {"hello-module": {"token": "${HELLO_TOKEN}", "name": "Ada"}}}})
    )
    created = Platform(nx_env, clock=clock)
    enable_module(created, "hello-module", "tester")
    yield created
    created.close()
    for name in [m for m in sys.modules if m.startswith("nxforge_modules.hello_module")]:
        sys.modules.pop(name)


def execution_rows(platform: Platform) -> list:  # type: ignore[type-arg]
    with platform.engine.connect() as conn:
        return list(conn.execute(select(executions).order_by(executions.c.id)))


def test_job_run_is_recorded_with_summary_and_log(platform: Platform) -> None:
    run = run_job(platform, "hello-module", "greet", trigger="manual")
    assert run.status == "ok"
    assert run.summary == {"greetings": 1, "message": "hello, Ada"}
    row = execution_rows(platform)[-1]
    assert row.status == "ok" and row.finished_at is not None and row.started_at <= row.finished_at
    assert row.summary == {"greetings": 1, "message": "hello, Ada"}
    assert "greeting Ada" in row.log
    with platform.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM hm_greetings")).scalar_one() == 1


def test_retries_record_each_attempt(platform: Platform) -> None:
    run = run_job(platform, "hello-module", "flaky")
    assert run.status == "ok" and run.attempts == 2
    rows = execution_rows(platform)
    assert [(r.attempt, r.status) for r in rows] == [(1, "failed"), (2, "ok")]
    assert "the first attempt always fails" in rows[0].error
    assert "RuntimeError" in rows[0].log


def test_timeout_asks_the_job_to_stop_and_records_it(platform: Platform) -> None:
    run = run_job(platform, "hello-module", "slow")
    assert run.status == "timeout"
    assert "longer than its timeout of 1 s" in (run.error or "")
    with platform.engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(select(events.c.kind))]
    assert "job.failed" in kinds


def test_handler_that_does_not_import_is_a_failed_execution(platform: Platform) -> None:
    (platform.env.modules_dir / "hello_module" / "jobs.py").write_text("import not_a_real_package\n")
    run = run_job(platform, "hello-module", "greet")
    assert run.status == "failed"
    assert "cannot import 'hello_module.jobs'" in (run.error or "")
    assert "not_a_real_package" in (run.error or "")


def test_collector_runs_due_jobs_once_per_interval(platform: Platform, clock: FakeClock) -> None:
    collector = Collector(platform)
    first = collector.run_due()
    # greet (15m) is due; flaky has no schedule (manual); slow has no schedule either.
    assert [(r.job, r.status) for r in first] == [("greet", "ok")]
    clock.now += timedelta(minutes=5)
    assert collector.run_due() == []
    clock.now += timedelta(minutes=10)
    assert [r.job for r in collector.run_due()] == ["greet"]


def test_collector_skips_a_job_another_collector_holds(platform: Platform) -> None:
    with job_lock(platform.engine, platform.env.data_dir / "locks", "hello-module/greet", concurrent=False) as held:
        assert held
        assert Collector(platform).run_due() == []
    assert [r.job for r in Collector(platform).run_due()] == ["greet"]


def test_named_job_runs_even_when_not_due(platform: Platform) -> None:
    assert [r.job for r in Collector(platform, job="flaky").run_due()] == ["flaky"]


def test_daily_schedule_in_site_time() -> None:
    paris = ZoneInfo("Europe/Paris")
    schedule = Schedule(daily_at=time(2, 0))
    last = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 02:00 Paris on March 1st
    assert not is_due(schedule, last, datetime(2026, 3, 1, 23, 0, tzinfo=UTC), paris)  # 00:00 Paris March 2nd
    assert is_due(schedule, last, datetime(2026, 3, 2, 1, 1, tzinfo=UTC), paris)
    assert is_due(schedule, None, datetime(2026, 3, 2, 1, 1, tzinfo=UTC), paris)
    assert not is_due(None, None, datetime(2026, 3, 2, tzinfo=UTC), paris)


def test_run_left_running_by_a_killed_collector_is_marked_abandoned(platform: Platform, clock: FakeClock) -> None:
    from sqlalchemy import insert

    with platform.engine.begin() as conn:
        conn.execute(insert(executions).values(module="hello-module", job="greet", trigger="once", status="running",
                                               attempt=1, started_at=clock.now - timedelta(hours=2), host="gone"))
    clock.now += timedelta(minutes=1)
    Collector(platform, job="greet").run_due()
    statuses = [(r.host, r.status) for r in execution_rows(platform)]
    assert statuses[0] == ("gone", "abandoned")
    assert statuses[-1][1] == "ok"
