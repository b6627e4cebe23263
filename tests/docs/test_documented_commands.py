"""Every command in getting-started.md, troubleshooting.md and configuration.md runs, for real.

The docs mark each fenced block with an HTML comment (invisible when rendered) saying what the
test does with it, and every ```bash block must carry one, so no command goes untested unnoticed:

- ``<!-- run -->``: run the block with bash (``set -e``): every command exits 0;
- ``<!-- run: exit N -->``: the block's last command exits N;
- ``<!-- run: background -->``: a long-running command (the simulator), started once and stopped
  at the end; the same command in a later doc is the one already running;
- ``<!-- run: options ... -->``: a command about the reader's own meter: it runs, and may fail
  for want of that meter, but never with a usage error (its options exist);
- ``<!-- not run: REASON -->``: not runnable here (a fresh clone), with the reason;
- ``<!-- file: PATH -->`` on a yaml block: written to PATH;
- ``<!-- output -->`` on a text block: lines the previous run block printed; times (``0.25s``)
  may differ and ``…`` stands for anything.

The docs run in order in one folder laid out like the repository (config/, data/, modules/), with
the documented fixed ports swapped for free ones, the simulator on 127.0.0.1 and SQLite.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / name for name in ("getting-started.md", "troubleshooting.md", "configuration.md")]
BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*?) -->\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)```", re.DOTALL)
PORTS = ("8790", "8791", "16100", "16020", "16030")  # the documented simulator's ports
SECONDS = re.compile(r"\b\d+\.\d+s\b")


@dataclass
class Block:
    doc: str
    marker: str
    lang: str
    body: str


def blocks(doc: Path) -> list[Block]:
    return [Block(doc.name, (m["marker"] or "").strip(), m["lang"], m["body"])
            for m in BLOCK.finditer(doc.read_text(encoding="utf-8"))]


def free_ports(count: int) -> list[int]:
    """Free TCP and UDP ports (the SNMP agent is UDP, Modbus TCP)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            if port not in ports:
                ports.append(port)
    return ports


def as_run(text: str, ports: dict[str, str]) -> str:
    """A documented command as the test runs it: this checkout's .venv and collector.py, free ports."""
    text = text.replace(".venv/bin/", f"{ROOT}/.venv/bin/")
    return swap_ports(text.replace("python collector.py", f"python {ROOT}/collector.py"), ports)


def swap_ports(text: str, ports: dict[str, str]) -> str:
    for documented, free in ports.items():
        text = re.sub(rf"(?<!\d){documented}(?!\d)", free, text)
    return text


def normal(line: str) -> str:
    return SECONDS.sub("<t>s", line.rstrip())


def printed(expected: str, output: str) -> bool:
    lines = [normal(line) for line in output.splitlines()]
    pattern = re.compile(".*".join(re.escape(part) for part in normal(expected).split("…")))
    return any(pattern.fullmatch(line) for line in lines)


def test_every_bash_block_says_whether_and_how_it_runs() -> None:
    for doc in DOCS:
        for block in blocks(doc):
            if block.lang in ("bash", "sh", "shell", "console"):
                assert block.marker.startswith(("run", "not run: ")), (doc.name, block.body)
            if block.marker.startswith("not run"):
                assert len(block.marker) > len("not run: ") + 5, "say why it is not run"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder laid out like the repository after the demo: the module enabled, nothing else."""
    for folder in ("config", "data"):
        (tmp_path / folder).mkdir()
    shutil.copytree(ROOT / "modules", tmp_path / "modules", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "config" / "nxforge.yaml").write_text("timezone: UTC\nmodules:\n  enabled: [consumption-monitor]\n")
    return tmp_path


def test_the_documented_commands_run_and_print_what_the_docs_show(site: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NXFORGE_")}
    environ["PYTHONUNBUFFERED"] = "1"
    ports = dict(zip(PORTS, map(str, free_ports(len(PORTS))), strict=True))
    background: dict[str, subprocess.Popen[str]] = {}
    last_output = ""
    ran = 0
    try:
        for doc in DOCS:
            for block in blocks(doc):
                where = f"{block.doc}: {block.body.strip()[:120]}"
                body = as_run(block.body, ports)
                if block.marker.startswith("file: "):
                    target = site / block.marker.removeprefix("file: ").strip()
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(body, encoding="utf-8")
                elif block.marker == "run: background":
                    if body not in background:
                        background[body] = start_background(body, site, environ, where)
                elif block.marker == "output":
                    for line in block.body.splitlines():
                        if line.strip():
                            assert printed(swap_ports(line, ports), last_output), (where, line, last_output)
                elif block.marker.startswith("run"):
                    ran += 1
                    started = time.monotonic()
                    last_output = run_block(block, body, site, environ, where)
                    print(f"{time.monotonic() - started:5.1f}s  {where[:100]!r}")
        assert ran >= 12 and len(background) == 1
    finally:
        for process in background.values():
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def run_block(block: Block, body: str, site: Path, environ: dict[str, str], where: str) -> str:
    """Run one block; check its exit status as its marker says; return what it printed."""
    expect = 0
    if block.marker.startswith("run: exit "):
        expect = int(block.marker.removeprefix("run: exit ").split()[0])
    script = body if expect else "set -e\n" + body
    done = subprocess.run(["bash", "-c", script], cwd=site, env=environ, capture_output=True, text=True,
                          timeout=240)
    output = done.stdout + done.stderr
    if block.marker.startswith("run: options"):
        assert "usage:" not in done.stderr and "unrecognized arguments" not in done.stderr, (where, output)
    else:
        assert done.returncode == expect, (where, done.returncode, output)
    return output


def start_background(body: str, site: Path, environ: dict[str, str], where: str) -> subprocess.Popen[str]:
    """Start a long-running documented command; wait until it says it is ready."""
    process = subprocess.Popen(["bash", "-c", "exec " + body.strip()], cwd=site, env=environ, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "Ctrl-C to stop" in line:  # ready; keep reading so a full pipe never blocks it
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError(f"{where}: did not start: {''.join(seen)}")
