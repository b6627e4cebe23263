"""A real ``nxforge demo``: stopped by Ctrl-C or SIGTERM, nothing is left within 5 s; the app is local; the log quiet.

Every process the demo started (the app and Streamlit's children, the browser driver and
Chromium, which Playwright puts in a process group of its own) is found through /proc before the
signal, and each must be gone within 5 seconds after it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from nxforge.demo import ADDRESS_VARIABLE, build_parser

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a live process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Every process below ``root``: pid -> start time (so a reused pid is not mistaken for it)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry.name))
                starts[int(entry.name)] = stat[2]
    found: dict[int, str] = {}
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found[child] = starts[child]
            pending.append(child)
    return found


def _alive(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, started in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == started and stat[1] != "Z":
            alive.append(pid)
    return alive


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) with a socket listening on ``port``."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                addresses.add(address)
    return addresses


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """A running demo (4 meters) whose app answers and whose collector has started a run."""
    shutil.copytree(ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("demo.yaml", "secrets.yaml"))
    variables = {**os.environ, "NXFORGE_CONFIG_DIR": str(tmp_path / "config"),
                 "NXFORGE_DATA_DIR": str(tmp_path / "data"), "NXFORGE_MODULES_DIR": str(ROOT / "modules")}
    variables.pop("NXFORGE_DATABASE_URL", None)
    variables.pop(ADDRESS_VARIABLE, None)
    port = _free_port()
    log_path = tmp_path / "demo.log"
    command = [sys.executable, "-m", "nxforge.cli", "demo", "--devices", "4", "--sim-port", "0",
               "--sim-tls-port", "0", "--app-port", str(port)]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=tmp_path, env=variables, stdout=log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own group, as a terminal's foreground job is
    try:
        deadline = time.monotonic() + 240
        while not (_answers(port) and "running consumption-monitor/collect" in log_path.read_text()):
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)
        yield process, port, log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _stop_and_check(process: subprocess.Popen[bytes], port: int, log_path: Path, send: str) -> None:
    started = _descendants(process.pid)
    assert len(started) >= 2, "the app and at least one other child were running"
    assert _listening_addresses(port) == {"0100007F"}, "the app listens on 127.0.0.1 only"
    signalled = time.monotonic()
    if send == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
    else:
        os.kill(process.pid, signal.SIGTERM)  # what kill, systemd or a container runtime does
    try:
        status = process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the demo still runs 5 s after {send}:\n{log_path.read_text()[-3000:]}")
    left: list[int] = _alive(started)
    while left and time.monotonic() - signalled < 5:
        time.sleep(0.1)
        left = _alive(started)
    elapsed = time.monotonic() - signalled
    log = log_path.read_text()
    assert left == [], f"still running {elapsed:.1f}s after {send}: {left}\n{log[-2000:]}"
    assert elapsed < 5
    assert status == 0, log[-2000:]
    assert not _answers(port)
    assert "demo stopped" in log and "Traceback" not in log, log[-3000:]


def test_ctrl_c_stops_simulator_collector_and_app_within_5_seconds(
    demo: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log_path = demo
    _stop_and_check(process, port, log_path, "ctrl-c")
    assert "received SIGINT" in log_path.read_text()


def test_sigterm_leaves_no_process_behind_and_the_log_is_quiet(
    demo: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log_path = demo
    deadline = time.monotonic() + 120
    while "consumption-monitor/collect ok" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    _stop_and_check(process, port, log_path, "sigterm")
    log = log_path.read_text()
    assert "received SIGTERM" in log
    assert "consumption-monitor/collect ok" in log
    assert "HTTP Request" not in log and "httpx" not in log and "nxforge.scraping" not in log
    assert "collector.progress" not in log  # a line per run, not per meter
    assert len([line for line in log.splitlines() if " INFO " in line]) < 40, log


def test_the_app_address_is_local_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ADDRESS_VARIABLE, raising=False)
    assert build_parser().parse_args([]).address == "127.0.0.1"
    assert build_parser().parse_args(["--address", "0.0.0.0"]).address == "0.0.0.0"
    monkeypatch.setenv(ADDRESS_VARIABLE, "10.1.2.3")
    assert build_parser().parse_args([]).address == "10.1.2.3"
    assert build_parser().parse_args(["-v"]).verbose
