"""``nxforge demo``: simulated meters, the collector and the app, on SQLite, in one command.

The core does not know what a module needs for a demo: each enabled module may declare a ``demo``
hook that writes its configuration against the running simulator.

Stopping is part of the contract: Ctrl-C (SIGINT), SIGTERM or SIGHUP stop the simulator, the
collector and the app within ``STOP_BUDGET_S``. The app runs in its own process group, so the
demo (not the terminal) decides when it stops, and the whole group goes, Streamlit's own
children included. The app listens on 127.0.0.1: the demo users' passwords are published.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from nxforge.auth.passwords import DEMO_ENV
from nxforge.collector.runner import Collector
from nxforge.environment import SECRETS_FILE, Environment
from nxforge.migrations.runner import migrate_module
from nxforge.module_system.loading import resolve_handler
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, Simulator, make_fleet

log = logging.getLogger(__name__)

DEMO_SECRET = "NXFORGE_DEMO_PASSWORD"
APP_FILE = Path(__file__).resolve().parent.parent / "streamlit_app.py"
ADDRESS_VARIABLE = "NXFORGE_DEMO_ADDRESS"
STOP_BUDGET_S = 4.0  # everything is gone within 5 s of the signal
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Loggers that write a line per meter request at INFO; the demo's default log is a line per run.
PER_REQUEST_LOGGERS = ("nxforge.scraping", "nxforge.collector.progress", "httpx", "httpcore")
# A terminal's Ctrl-C also reaches the browser driver (it shares our process group), so reads in
# flight fail while we stop: expected, and recorded as the run being abandoned.
STOP_NOISE_LOGGERS = ("nxforge.scraping", "asyncio")


class StopDemo(BaseException):
    """A stop signal arrived; raised in the main thread so start-up is interrupted too."""


def build_parser() -> argparse.ArgumentParser:
    """Options of ``nxforge demo``."""
    parser = argparse.ArgumentParser(prog="nxforge demo", description=__doc__)
    parser.add_argument("--devices", type=int, default=24, help="simulated meters (default 24)")
    parser.add_argument("--sim-port", type=int, default=8780, help="simulator HTTP port (default 8780)")
    parser.add_argument("--sim-tls-port", type=int, default=8743, help="simulator HTTPS port (default 8743)")
    parser.add_argument("--app-port", type=int, default=8501, help="app port (default 8501)")
    parser.add_argument(
        "--address", default=os.environ.get(ADDRESS_VARIABLE, "127.0.0.1"),
        help=f"address the app listens on (default 127.0.0.1, or ${ADDRESS_VARIABLE}); the demo users' "
        "passwords are published, so 0.0.0.0 lets anyone on the network sign in as admin",
    )
    parser.add_argument("--no-app", action="store_true", help="run the simulator and collector only")
    parser.add_argument("--once", action="store_true", help="collect once and exit (a smoke test of the demo)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug log, a line per meter request too")
    return parser


def configure_logging(verbose: bool) -> None:
    """Quiet at INFO (a line per collector run); ``-v`` shows everything, still without secrets."""
    from nxforge.log_redaction import install_log_redaction

    install_log_redaction(quiet_libraries=not verbose)
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def prepare(platform: Platform, simulator: Simulator) -> None:
    """Apply migrations and call each enabled module's demo hook."""
    for info in platform.enabled_modules():
        assert info.manifest is not None
        migrate_module(platform.engine, info.name, info.migrations_dir)
        hook = info.manifest.hooks.get("demo")
        if hook:
            resolve_handler(platform.env.modules_dir, hook)(platform.context(info.name), simulator)
    platform.reload()


def start_app(port: int, address: str = "127.0.0.1", verbose: bool = False) -> subprocess.Popen[bytes]:
    """``streamlit run`` in a child process group of its own, sharing our environment."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.headless", "true", "--server.port", str(port), "--server.address", address,
        "--browser.gatherUsageStats", "false", "--logger.level", "debug" if verbose else "warning",
    ]
    level = "DEBUG" if verbose else os.environ.get("NXFORGE_LOG_LEVEL", "INFO")
    variables = {**os.environ, "NXFORGE_LOG_LEVEL": level, DEMO_ENV: "1"}  # the published demo passwords work here only
    return subprocess.Popen(command, env=variables, start_new_session=True)


def stop_process_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the child's process group, SIGKILL what is left after ``grace_s``."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 1.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _group_alive(process):
            time.sleep(0.05)
        if not _group_alive(process):
            break
    try:
        process.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        log.warning("the app (pid %d) did not exit", process.pid)


def _group_alive(process: subprocess.Popen[bytes]) -> bool:
    """True while the leader runs or any process of its group remains."""
    if process.poll() is None:
        return True
    try:
        os.killpg(process.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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


def _within(budget_s: float, step: Callable[[], object], what: str) -> None:
    """Run one stop step in a helper thread; a step that overruns is left behind (the process is ending)."""
    worker = threading.Thread(target=step, name=f"stop-{what}", daemon=True)
    worker.start()
    worker.join(timeout=max(budget_s, 0.1))
    if worker.is_alive():
        log.warning("stopping the %s took longer than %.1fs; leaving it to the process exit", what, budget_s)


def shutdown(collector: Collector | None, worker: threading.Thread | None, app: subprocess.Popen[bytes] | None,
             simulator: Simulator, platform: Platform) -> None:
    """Stop everything within STOP_BUDGET_S: collector asked first, then app, simulator, collector, database."""
    deadline = time.monotonic() + STOP_BUDGET_S
    for name in STOP_NOISE_LOGGERS:  # reads cut short by the stop are recorded in the run, not logged as crashes
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if collector is not None:
        collector.stop_event.set()  # jobs finish their current item and return
    if app is not None:
        stop_process_group(app, grace_s=1.5)
    _within(min(1.5, deadline - time.monotonic()), simulator.stop, "simulator")  # in-flight reads fail fast
    if worker is not None:
        worker.join(timeout=max(deadline - time.monotonic() - 0.5, 0.1))
    _within(deadline - time.monotonic(), platform.close, "database and browser")


def _install_stop_signals() -> dict[int, object]:
    """Ctrl-C, SIGTERM and SIGHUP all raise StopDemo in the main thread, once; returns the previous handlers."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        print(f"received {signal.Signals(signum).name}: stopping the demo", file=sys.stderr, flush=True)
        raise StopDemo(time.monotonic())

    return {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}


def main(argv: list[str] | None = None) -> int:
    """Run the demo until a stop signal; returns the exit status."""
    args = build_parser().parse_args(argv)
    verbose = args.verbose or logging.getLogger().getEffectiveLevel() <= logging.DEBUG  # or `nxforge -v demo`
    configure_logging(verbose)
    previous_handlers = _install_stop_signals()
    env = Environment.from_environ()
    ensure_demo_secret(env)
    simulator = Simulator(demo_devices(args.devices), http_port=args.sim_port, https_port=args.sim_tls_port)
    platform: Platform | None = None
    collector: Collector | None = None
    worker: threading.Thread | None = None
    app: subprocess.Popen[bytes] | None = None
    status = 0
    stopping_since = time.monotonic()
    try:
        simulator.start()
        platform = Platform(env)
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
            app = start_app(args.app_port, args.address, verbose)
            print(f"app: http://{args.address}:{args.app_port}  (demo users are listed in docs/app.md)")
        print("Ctrl-C stops the demo.", flush=True)
        while app is None or app.poll() is None:
            time.sleep(0.5)
        print(f"the app exited with status {app.returncode}; stopping the demo", file=sys.stderr)
        status = 1
    except StopDemo as stop:
        stopping_since = float(stop.args[0])
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if platform is None:
            simulator.stop()
        else:
            shutdown(collector, worker, app, simulator, platform)
        for previous_sig, handler in previous_handlers.items():
            signal.signal(previous_sig, handler)  # type: ignore[arg-type]
        print(f"demo stopped in {time.monotonic() - stopping_since:.1f}s", file=sys.stderr, flush=True)
        if not args.once or _threads_left():
            _exit_now(status)  # the interpreter's own teardown would wait for the browser driver and pools
    return status


def _threads_left() -> list[threading.Thread]:
    """Threads that would hold the interpreter's exit (a job still reading, a pool worker)."""
    main_thread = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main_thread and t.is_alive() and not t.daemon]


def _exit_now(status: int) -> None:
    """Exit without waiting for work the stop cut short: its run is recorded as abandoned."""
    log.debug("exiting with %d thread(s) still running: %s", len(_threads_left()),
              ", ".join(t.name for t in _threads_left()))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
