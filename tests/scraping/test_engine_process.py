"""The scraping engine in its own process (the collector's): same answers as in-process, and nothing lost.

Real child processes, real HTTP against the simulator: what the collector relies on is that
results come back in request order through ``on_result`` in the caller's thread, that the
child's log lines reach the collector's log without a secret, and that a child that dies
costs failed readings (never a hung run) and is replaced for the next call.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from nxforge.scraping import ScrapeFailure, ScrapeResult, ScrapingEngine
from nxforge.scraping.engine_process import EngineProcess
from nxforge.secrets import SecretStore
from nxforge.simulator import Simulator

from .conftest import PASSWORD, new_engine, request_for

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_results_match_the_engine_in_this_process_in_request_order(
        sim: Simulator, engine: ScrapingEngine, process: EngineProcess) -> None:
    devices = ["sentry-ok", "plain-ok", "geist-ok", "eaton-g4-ok", "panel-eu-ok", "apc-nmc1-ok"]
    requests = [request_for(sim, device, key=f"proc-{device}", engine="http") for device in devices]
    threads: list[str] = []
    seen: list[str] = []

    def on_result(result: object) -> None:
        threads.append(threading.current_thread().name)
        seen.append(result.key)  # type: ignore[attr-defined]

    there = process.scrape_many(requests, on_result=on_result)
    here = engine.scrape_many(requests)
    assert [r.key for r in there] == [r.key for r in requests]
    assert sorted(seen) == sorted(r.key for r in requests)
    assert set(threads) == {threading.current_thread().name}  # the caller's thread, as in-process
    for theirs, ours in zip(there, here, strict=True):
        assert theirs.ok, theirs.error
        assert theirs.values["total_kwh"].value == ours.values["total_kwh"].value  # the simulator's clock is frozen
        assert theirs.values["total_kwh"].unit == "kWh"
        assert theirs.values["total_kwh"].counter == ours.values["total_kwh"].counter  # the preset's counter rules
    assert process.scrape_many([]) == []


def test_a_failed_reading_and_suggest_come_back_as_in_process(
        sim: Simulator, process: EngineProcess, faulty: object) -> None:
    faulty("plain").set_fault("down")  # type: ignore[operator]
    failed = process.scrape(request_for(sim, "plain-f", key="proc-down"))
    assert not failed.ok and failed.error is not None and failed.error.error_class == "unreachable"
    with pytest.raises(ScrapeFailure) as raised:
        process.suggest(request_for(sim, "plain-f", key="proc-suggest-down", engine="http"))
    assert raised.value.error_class == "unreachable"
    assert raised.value.hint  # the hint crosses the process boundary too
    suggestions = process.suggest(request_for(sim, "plain-ok", key="proc-suggest", engine="http"))
    assert any(abs(s.value - sim.displayed_kwh("plain-ok")) < 0.051 for s in suggestions)


def test_the_childs_log_lines_reach_this_log_without_the_password(
        sim: Simulator, process: EngineProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="nxforge.scraping.engine")  # whatever an earlier test left on "nxforge"
    result = process.scrape(request_for(sim, "sentry-ok", key="proc-wrong-login",
                                        auth={"password": "${SIM_PASSWORD}-and-more"}))
    assert not result.ok and result.error is not None and result.error.error_class == "auth_failed"
    deadline = time.monotonic() + 5  # the record travels on the reply pipe, ahead of the result
    while not any(r.name == "nxforge.scraping.engine" for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [r for r in caplog.records if r.name == "nxforge.scraping.engine"]
    assert any("proc-wrong-login failed (auth_failed)" in r.getMessage() for r in lines)
    assert all(r.process != os.getpid() for r in lines)  # made in the child, logged here
    assert PASSWORD not in caplog.text


def test_a_child_that_dies_mid_run_costs_failed_readings_and_is_replaced(
        sim: Simulator, tmp_path: Path, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=5.0)  # type: ignore[operator]
    with new_engine(EngineProcess, tmp_path) as engine:
        assert engine.scrape(request_for(sim, "plain-ok", key="proc-warm")).ok  # the child is up and reading
        assert engine._proc is not None
        first_pid = engine._proc.pid
        requests = [request_for(sim, "plain-f", key="proc-slow", timeout_s=20),
                    request_for(sim, "plain-ok", key="proc-fast", engine="http")]
        landed: list[str] = []

        def on_result(result: ScrapeResult) -> None:
            landed.append(result.key)
            if result.key == "proc-fast":  # the slow meter is still being read: the child dies now
                os.kill(first_pid, signal.SIGKILL)

        started = time.monotonic()
        results = engine.scrape_many(requests, on_result=on_result)
        assert time.monotonic() - started < 4.5  # the run goes on; it does not wait for the slow meter
        assert [r.key for r in results] == ["proc-slow", "proc-fast"]
        assert results[1].ok
        slow = results[0]
        assert not slow.ok and slow.error is not None and slow.error.error_class == "step_failed"
        assert "scraping process stopped" in slow.error.message
        assert landed == ["proc-fast", "proc-slow"]  # each reported, so each becomes a reading
        again = engine.scrape(request_for(sim, "plain-ok", key="proc-after"))
        assert again.ok, again.error
        assert engine._proc is not None and engine._proc.pid != first_pid


def test_the_child_leaves_when_closed_and_when_its_parent_dies(tmp_path: Path) -> None:
    with EngineProcess(secrets=SecretStore(environ={}), evidence_dir=tmp_path / "e", state_dir=tmp_path / "s") as one:
        assert one._proc is not None
        pid = one._proc.pid
    assert not _alive(pid)
    # A parent killed without closing anything: the child reads the end of its input and leaves.
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from nxforge.scraping.engine_process import EngineProcess
        from nxforge.secrets import SecretStore
        engine = EngineProcess(secrets=SecretStore(environ={{}}), evidence_dir=Path({str(tmp_path)!r}) / "e",
                               state_dir=Path({str(tmp_path)!r}) / "s")
        print(engine._proc.pid, flush=True)
        os._exit(0)
    """)
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    orphan = int(ran.stdout.strip())
    deadline = time.monotonic() + 20
    while _alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(orphan)


def test_what_the_child_prints_is_logged_and_redacted(tmp_path: Path) -> None:
    """A library printing to the child's stdout or stderr goes through the child's log, secrets scrubbed."""
    script = textwrap.dedent(f"""
        import logging, os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from nxforge.log_redaction import install_log_redaction, remember_secret
        from nxforge.scraping import worker
        worker._take_over_streams()
        handler = logging.StreamHandler(open({str(tmp_path / "log.txt")!r}, "w"))
        logging.getLogger().addHandler(handler)
        install_log_redaction()
        remember_secret({PASSWORD!r})
        print("a library says the password is {PASSWORD}", flush=True)
        os.write(2, b"chromium: token={PASSWORD}\\n")
        time.sleep(1)
        handler.flush()
    """)
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "" and PASSWORD not in ran.stderr
    logged = (tmp_path / "log.txt").read_text()
    assert "a library says the password is ***" in logged
    assert "chromium: token=***" in logged
    assert PASSWORD not in logged
