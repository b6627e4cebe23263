"""``nxforge demo``: simulated meters, the collector and the app, on SQLite, in one command.

The core does not know what a module needs for a demo: each enabled module may declare a ``demo``
hook that writes its configuration against the running simulator.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from nxforge.collector.runner import Collector
from nxforge.environment import SECRETS_FILE, Environment
from nxforge.migrations.runner import migrate_module
from nxforge.module_system.loading import resolve_handler
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, Simulator, make_fleet

log = logging.getLogger(__name__)

DEMO_SECRET = "NXFORGE_DEMO_PASSWORD"
APP_FILE = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def build_parser() -> argparse.ArgumentParser:
    """Options of ``nxforge demo``."""
    parser = argparse.ArgumentParser(prog="nxforge demo", description=__doc__)
    parser.add_argument("--devices", type=int, default=24, help="simulated meters (default 24)")
    parser.add_argument("--sim-port", type=int, default=8780, help="simulator HTTP port (default 8780)")
    parser.add_argument("--sim-tls-port", type=int, default=8743, help="simulator HTTPS port (default 8743)")
    parser.add_argument("--app-port", type=int, default=8501, help="app port (default 8501)")
    parser.add_argument("--no-app", action="store_true", help="run the simulator and collector only")
    parser.add_argument("--once", action="store_true", help="collect once and exit (a smoke test of the demo)")
    return parser


def prepare(platform: Platform, simulator: Simulator) -> None:
    """Apply migrations and call each enabled module's demo hook."""
    for info in platform.enabled_modules():
        assert info.manifest is not None
        migrate_module(platform.engine, info.name, info.migrations_dir)
        hook = info.manifest.hooks.get("demo")
        if hook:
            resolve_handler(platform.env.modules_dir, hook)(platform.context(info.name), simulator)
    platform.reload()


def start_app(port: int) -> subprocess.Popen[bytes]:
    """``streamlit run`` in a child process sharing our environment."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false",
    ]
    return subprocess.Popen(command, env=dict(os.environ))


def demo_devices(meters: int, sensor_racks: int = 4) -> list[DeviceSpec]:
    """Meters of every style, plus a BMC and a probe per rack for the temperature monitor."""
    sensors = []
    for rack in range(sensor_racks):
        sensors.append(DeviceSpec(id=f"bmc-r{rack + 1:02d}", style="bmc", temperature_c=21.0 + rack))
        sensors.append(DeviceSpec(id=f"probe-r{rack + 1:02d}", style="envprobe", temperature_c=22.0 + rack))
    return [*make_fleet(meters), *sensors]


def ensure_demo_secret(env: Environment) -> None:
    """The simulated devices' password, as a secret reference the demo configs use."""
    secrets_file = env.config_dir / SECRETS_FILE
    existing = secrets_file.read_text(encoding="utf-8") if secrets_file.exists() else ""
    if DEMO_SECRET not in existing:
        secrets_file.parent.mkdir(parents=True, exist_ok=True)
        with secrets_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{DEMO_SECRET}: {DeviceSpec(id='x', style='plain').password}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the demo until Ctrl-C; returns the exit status."""
    args = build_parser().parse_args(argv)
    env = Environment.from_environ()
    ensure_demo_secret(env)
    devices = demo_devices(args.devices)
    simulator = Simulator(devices, http_port=args.sim_port, https_port=args.sim_tls_port).start()
    platform = Platform(env)
    app: subprocess.Popen[bytes] | None = None
    try:
        prepare(platform, simulator)
        collector = Collector(platform)
        if args.once:
            runs = collector.run_due(trigger="once")
            print(", ".join(f"{r.module}/{r.job} {r.status} {r.summary}" for r in runs) or "nothing was due")
            return 0
        worker = threading.Thread(target=collector.run_forever, kwargs={"tick_s": 15}, name="collector", daemon=True)
        worker.start()
        print(f"simulator: {simulator.base_url} ({args.devices} meters)")
        if not args.no_app:
            app = start_app(args.app_port)
            print(f"app: http://127.0.0.1:{args.app_port}  (demo users are listed in docs/app.md)")
        print("Ctrl-C stops the demo.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping the demo")
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=10)
        platform.close()
        simulator.stop()
    return 0
