"""``collector.py``'s start-up, cut for cron (issue 15 item 7), still runs jobs as before.

Its own parser (the collector's options, the exit codes, ``-v``); neither httpx nor the engines imported in
the collector's own process (its scraping process reads the meters), and httpx without its CLI where it is;
the garbage collector off during start-up, and on (start-up frozen, a larger first generation) when a job runs;
on after a run with nothing due.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select

from nxforge.db.schema import executions
from nxforge.environment import Environment
from tests.conftest import copy_fixture_module

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR = ROOT / "collector.py"

GC_JOB = '''

def gc_state(ctx: JobContext) -> dict[str, Any]:
    """What the process looks like to a job."""
    import gc
    import sys

    return {"gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "young": gc.get_threshold()[0],
            "httpx_cli": "httpx._main" in sys.modules, "httpx": "httpx" in sys.modules,
            "engines": "nxforge.scraping.engine" in sys.modules}
'''


def test_collector_help_is_its_own() -> None:
    shown = subprocess.run([sys.executable, str(COLLECTOR), "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: collector.py")
    for option in ("--once", "--module", "--job", "--endpoint", "--dry-run", "--tick", "--metrics-textfile", "-v"):
        assert option in shown.stdout
    assert "exit status (collector.py --once)" in shown.stdout
    refused = subprocess.run([sys.executable, str(COLLECTOR), "--no-such-option"], capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2
    assert "unrecognized arguments: --no-such-option" in refused.stderr


def test_the_collectors_own_process_imports_neither_httpx_nor_the_engines() -> None:
    probe = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import collector, gc; "
             "import nxforge.sdk, nxforge.platform, nxforge.notifications; "
             "print('httpx' in sys.modules, 'nxforge.scraping.engine' in sys.modules, gc.isenabled()); "
             "from nxforge.lean_imports import import_httpx_without_its_cli; import_httpx_without_its_cli(); "
             "print('httpx' in sys.modules, 'httpx._main' in sys.modules); import httpx._main; print('cli importable')")
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[:3] == ["False False False", "True False", "cli importable"]


def test_a_job_runs_with_the_collector_on_and_start_up_frozen(nx_env: Environment) -> None:
    module = copy_fixture_module(nx_env, "hello_module")
    with (module / "jobs.py").open("a") as jobs:
        jobs.write(GC_JOB)
    manifest = module / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace(
        "jobs:\n", "jobs:\n  gc_state:\n    title: GC state\n    handler: hello_module.jobs:gc_state\n"
        "    schedule: null\n", 1))
    nx_env.core_config_path.write_text(
        yaml.safe_dump({"modules": {"enabled": ["hello-module"], "settings": {"hello-module": {"token": "x"}}}})
    )
    variables = {
        **os.environ,
        "NXFORGE_CONFIG_DIR": str(nx_env.config_dir),
        "NXFORGE_DATA_DIR": str(nx_env.data_dir),
        "NXFORGE_MODULES_DIR": str(nx_env.modules_dir),
        "NXFORGE_DATABASE_URL": nx_env.database_url_override or "",
    }
    ran = subprocess.run([sys.executable, str(COLLECTOR), "--once", "--job", "gc_state"], env=variables,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "hello-module/gc_state ok" in ran.stdout
    engine = create_engine(nx_env.database_url())
    try:
        with engine.connect() as conn:
            summary = conn.execute(select(executions.c.summary).where(executions.c.job == "gc_state")).scalar_one()
    finally:
        engine.dispose()
    summary = json.loads(summary) if isinstance(summary, str) else summary
    assert summary["gc_enabled"] is True
    assert summary["frozen"] > 10_000  # start-up's objects, out of the collections' way
    assert summary["young"] == 10_000
    assert summary["httpx_cli"] is False
    assert summary["httpx"] is False and summary["engines"] is False  # the scraping process's, not this one's


def test_the_collector_is_on_after_a_run_with_nothing_due(nx_env: Environment) -> None:
    nx_env.core_config_path.write_text(yaml.safe_dump({"modules": {"enabled": []}}))
    probe = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import collector, gc; "
             "from nxforge.cli import collector_main; status = collector_main(['--once']); "
             "print(status, gc.isenabled(), gc.get_freeze_count() > 10_000)")
    variables = {**os.environ, "NXFORGE_CONFIG_DIR": str(nx_env.config_dir), "NXFORGE_DATA_DIR": str(nx_env.data_dir),
                 "NXFORGE_MODULES_DIR": str(nx_env.modules_dir), "NXFORGE_DATABASE_URL": nx_env.database_url()}
    ran = subprocess.run([sys.executable, "-c", probe], env=variables, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().endswith("0 True True")


def _session_members(session: int) -> list[int]:
    """Processes still running (zombies aside) in the session led by ``session``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry))
    return members


def test_processes_in_reads_the_collectors_arguments_before_its_parser() -> None:
    from nxforge.scraping.prestart import default_processes, processes_in

    assert processes_in(["--once"]) == default_processes()
    assert processes_in(["--once", "--scraping-processes", "3"]) == 3
    assert processes_in(["--scraping-processes=1", "--once"]) == 1
    assert processes_in(["--scraping-processes", "many"]) == default_processes()  # the parser reports it
    assert processes_in(["--scraping-processes", "99"]) == default_processes()  # not 99 forks before it does
    assert processes_in(["--scraping-processes", "9"]) == default_processes()  # 8 at most: 8 scrapes per device
    assert processes_in(["--scraping-in-process", "--scraping-processes", "3"]) == 0
    assert processes_in(["--scraping-processes", "1", "--scraping-processes", "3"]) == 3  # the last, as argparse


def test_one_core_to_run_on_means_one_scraping_process() -> None:
    probe = "from nxforge.scraping.prestart import default_processes; print(default_processes())"
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout.strip() == "1"  # a container or taskset with one core, on a host with more
    free = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert free.stdout.strip() == str(min(2, len(os.sched_getaffinity(0))))


def test_the_collectors_parser_takes_no_abbreviation_that_prestart_would_miss() -> None:
    from nxforge.cli import collector_parser

    with pytest.raises(SystemExit):
        collector_parser().parse_args(["--once", "--scraping-in"])
    assert collector_parser().parse_args(["--scraping-processes", "3"]).scraping_processes == 3


def test_the_collector_reads_in_its_forked_children_and_leaves_no_process_behind(tmp_path: Path) -> None:
    from nxforge.scraping.prestart import default_processes
    from nxforge.simulator import Simulator
    from tests.scale.helpers import make_site, plain_fleet

    devices = plain_fleet(8)
    with Simulator(devices) as sim:
        site = make_site(tmp_path, f"sqlite:///{tmp_path / 'nxforge.db'}", sim, devices, poll="1h", settings={})
        for options, children in (([], default_processes()), (["--scraping-processes", "1"], 1),
                                  (["--scraping-processes", "3"], 3), (["--scraping-in-process"], 0)):
            collector = subprocess.Popen([sys.executable, str(COLLECTOR), "--once", "--job", "collect", "-v",
                                          *options], cwd=tmp_path, env=site.subprocess_env(), start_new_session=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = collector.communicate(timeout=120)
            assert collector.returncode == 0, err
            assert "consumption-monitor/collect ok" in out
            started = [line for line in err.splitlines() if "scraping process" in line and "started" in line]
            assert len(started) == children, err
            pids = {line.split("scraping process ")[1].split()[0] for line in started}
            assert len(pids) == children and str(collector.pid) not in pids
            if children:  # the reading was made in the children: their engines' debug lines came back
                assert "nxforge.scraping.engine: m-0" in err
            assert _session_members(collector.pid) == []
            engine = create_engine(site.variables["NXFORGE_DATABASE_URL"])
            try:
                with engine.connect() as conn:
                    summary = conn.execute(select(executions.c.summary).where(executions.c.job == "collect")
                                           .order_by(executions.c.id.desc()).limit(1)).scalar_one()
            finally:
                engine.dispose()
            summary = json.loads(summary) if isinstance(summary, str) else summary
            assert summary["ok"] == 8 and summary["failed"] == 0
            _all_due(site.variables["NXFORGE_DATABASE_URL"])  # the second run reads them again


def _all_due(url: str) -> None:
    from nxforge_modules.consumption_monitor.tables import endpoint

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(endpoint.update().values(next_due_at=datetime.now(UTC) - timedelta(minutes=1)))
    finally:
        engine.dispose()
