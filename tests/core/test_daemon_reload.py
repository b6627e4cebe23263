"""Configuration changes reach a running daemon within a tick: modules enabled and disabled, endpoints edited.

Real ``collector.py`` daemon processes with ``--tick 1``. A small module written here (``ticker``)
records each run of its jobs in its own table, so the test sees from the database when the daemon
starts and stops running them; the consumption monitor's endpoints are edited under a daemon that
runs its collect job.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from nxforge.simulator import Simulator
from tests.core.collector_site import CM, Site, endpoint_item, good_devices, make_site
from tests.modules.conftest import MODULES_DIR

TICKER_JOBS = '''
import time

from sqlalchemy import text


def _mark(ctx, what):
    with ctx.db.begin() as conn:
        conn.execute(text("INSERT INTO tk_run (what, at) VALUES (:what, :at)"),
                     {"what": what, "at": ctx.clock().isoformat()})


def tick(ctx):
    _mark(ctx, "tick")
    return {}


def long(ctx):
    _mark(ctx, "long-start")
    deadline = time.monotonic() + 90
    while not ctx.should_stop() and time.monotonic() < deadline:
        time.sleep(0.05)
    _mark(ctx, "long-end")
    return {"stopped": ctx.should_stop()}
'''


def write_ticker(modules: Path) -> None:
    """The ``ticker`` module: a job every 2 s, a long job that runs until asked to stop, one migration."""
    folder = modules / "ticker"
    (folder / "migrations").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "jobs.py").write_text(TICKER_JOBS)
    (folder / "migrations" / "001_tables.sql").write_text(
        "CREATE TABLE tk_run (what VARCHAR(20) NOT NULL, at VARCHAR(40) NOT NULL);\n")
    (folder / "manifest.yaml").write_text(yaml.safe_dump({
        "name": "ticker", "version": "1.0.0", "display_name": "Ticker", "description": "records its runs",
        "author": "tests", "license": "MIT", "package": "ticker", "table_prefix": "tk_",
        "requires": {"core": ">=0.1,<1"},
        "jobs": {"tick": {"title": "Tick", "handler": "ticker.jobs:tick", "schedule": "2s"},
                 "long": {"title": "Long", "handler": "ticker.jobs:long", "schedule": "1h", "timeout": "5m"}}}))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


@contextmanager
def daemon(site: Site, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A collector daemon with a one-second tick, stopped with SIGTERM at the end."""
    log = (site.root / "daemon.log").open("a")
    process = site.collector("--tick", "1", *args, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()


def _runs(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [row.what for row in conn.execute(text("SELECT what FROM tk_run"))]
    except SQLAlchemyError:
        return []  # not migrated yet
    finally:
        engine.dispose()


def test_modules_enabled_and_disabled_reach_a_running_daemon(db_url: str, tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    write_ticker(modules)
    site = make_site(tmp_path / "site", db_url, modules_dir=modules, enabled=())
    with daemon(site) as process:
        time.sleep(2.5)
        assert _runs(db_url) == [] and process.poll() is None

        site.write_core(["ticker"])  # by hand, as an editor would: the daemon migrates and runs it
        wait_for(lambda: "long-start" in _runs(db_url), 10, "the enabled module's job started")
        assert "database migrated before use: ticker" in (site.root / "daemon.log").read_text()

        disabled = site.nxforge("modules", "disable", "ticker")  # as the app's Modules page does
        assert disabled.returncode == 0, disabled.stderr
        took = wait_for(lambda: "long-end" in _runs(db_url), 10, "the running job asked to stop")
        assert took < 3.5
        settled = _runs(db_url)
        # `tick` (after `long` in the run's due jobs, manifest keys sorted) is not run once its module is disabled.
        assert settled == ["long-start", "long-end"]
        time.sleep(4)  # two runs of `tick` would have happened
        assert _runs(db_url) == settled, "a disabled module's job ran again"

        site.write_core(["ticker"])
        before = _runs(db_url).count("tick")
        wait_for(lambda: _runs(db_url).count("tick") > before, 5, "the re-enabled module ran again")

        # An invalid nxforge.yaml: the daemon says so once and carries on with the configuration it had.
        site.core_config.write_text("modules:\n  enabled: [ticker]\n  enabled: []\n")
        before = _runs(db_url).count("tick")
        wait_for(lambda: _runs(db_url).count("tick") >= before + 2, 8, "the module kept running")
        assert process.poll() is None
    log = (site.root / "daemon.log").read_text()
    assert "module ticker was disabled: asking its running job to stop" in log
    assert log.count("nxforge.yaml not re-read, the configuration before it stays in use") == 1
    assert "Traceback" not in log


def _read_endpoints(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT endpoint_id, count(*) AS n FROM cm_reading GROUP BY endpoint_id"))
            return {row.endpoint_id: int(row.n) for row in rows}
    except SQLAlchemyError:
        return {}
    finally:
        engine.dispose()


def test_endpoint_edits_reach_a_running_daemon(db_url: str, tmp_path: Path) -> None:
    devices = good_devices(3)
    with Simulator(devices) as sim:
        site = make_site(tmp_path / "site", db_url, modules_dir=MODULES_DIR)
        first = [endpoint_item(sim, "good-0", poll_interval="10s"), endpoint_item(sim, "good-1", poll_interval="10s")]
        site.write_endpoints("site.yaml", first)
        with daemon(site, "--module", CM, "--job", "collect") as process:
            wait_for(lambda: set(_read_endpoints(db_url)) == {"good-0", "good-1"}, 30, "the first endpoints read")

            # Added: read within a tick or two. Removed: no longer read.
            site.write_endpoints("site.yaml", [first[0], endpoint_item(sim, "good-2", poll_interval="10s")])
            took = wait_for(lambda: "good-2" in _read_endpoints(db_url), 10, "the added endpoint read")
            assert took < 5
            removed_count = _read_endpoints(db_url)["good-1"]
            wait_for(lambda: _read_endpoints(db_url).get("good-0", 0) >= 2, 20, "good-0 read again")
            assert _read_endpoints(db_url)["good-1"] == removed_count

            # The module disabled: the collect job stops running at once.
            site.write_core([])
            time.sleep(2)
            settled = _read_endpoints(db_url)
            time.sleep(12)  # good-0 and good-2 would both be due again
            assert _read_endpoints(db_url) == settled
            assert process.poll() is None
    assert "Traceback" not in (site.root / "daemon.log").read_text()
