"""Run ``streamlit run streamlit_app.py`` as a real server on a free port, for the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# The project's usual flags, except --disable-gpu: st.dataframe draws on a canvas that stays an
# empty grey box without GL, so software GL (SwiftShader, no GPU needed) replaces it here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """Debian's headless shell when installed (faster), else the full Chromium."""
    for candidate in ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium"):
        if Path(candidate).exists():
            return candidate
    raise FileNotFoundError("no Chromium: install Debian's chromium-headless-shell or chromium")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StreamlitServer:
    """One app server with its own environment; its output goes to ``log_path`` for post-mortems."""

    def __init__(self, environment: dict[str, str], log_path: Path, app_file: Path = ROOT / "streamlit_app.py") -> None:
        self.port = free_port()
        self.app_file = app_file
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = environment
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> StreamlitServer:
        """Start and wait until the health endpoint answers."""
        command = [
            sys.executable, "-m", "streamlit", "run", str(self.app_file),
            "--server.headless", "true", "--server.port", str(self.port), "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--client.toolbarMode", "minimal",
        ]  # fmt: skip
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **self.environment}, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self._process.returncode}: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/_stcore/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"streamlit did not answer within {timeout_s}s: {self.log_path.read_text()}")

    def stop(self) -> None:
        """Stop the server (terminate, then kill if it lingers)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
