"""Done-when: a simulated overheating rack raises exactly one alert by webhook and by email, and one
recovery; and the temperature monitor and another module are enabled, disabled, uninstalled apart."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect, select, text

from nxforge.collector.jobs import run_job
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import disable_module, enable_module, uninstall_module
from nxforge.notifications import NotificationService
from nxforge.notifications.tables import alerts
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from tests.conftest import copy_fixture_module
from tests.notifications.receivers import SmtpReceiver, WebhookReceiver

MODULE_SRC = Path(__file__).resolve().parents[3] / "modules" / "temperature_monitor"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def install_temperature_module(env: Environment) -> None:
    shutil.copytree(MODULE_SRC, env.modules_dir / "temperature_monitor", ignore=shutil.ignore_patterns("__pycache__"))


def sensors_yaml(sim: Simulator) -> str:
    devices = [
        {"id": device, "location": "Room A", "rack": rack, "scrape": {"preset": "bmc", "url": sim.url_for(device)},
         "sensors": [{"id": f"{rack.lower()}-{kind}", "name": f"{rack} {kind}", "kind": kind, "value": f"{kind}_c"}
                     for kind in ("inlet", "exhaust", "cpu")]}
        for device, rack in (("bmc-r01", "R01"), ("bmc-r02", "R02"))
    ]
    devices.append({"id": "env-a", "location": "Room A", "scrape": {"preset": "envprobe", "url": sim.url_for("env-a")},
                    "sensors": [{"id": "room-a-air", "name": "Room A air", "kind": "ambient", "value": "temperature_c"},
                                {"id": "room-a-rh", "name": "Room A RH", "kind": "humidity", "value": "humidity_pct"}]})
    groups = {"inlet": {"high": {"warning": 30, "critical": 35}, "hysteresis": 1.0, "min_duration": "2m"},
              "ambient": {"high": {"warning": 30}}, "humidity": {"high": {"warning": 70}, "low": {"warning": 20}}}
    return yaml.safe_dump({"groups": groups, "devices": devices})


@pytest.fixture
def sim() -> Iterator[Simulator]:
    specs = [DeviceSpec("bmc-r01", "bmc"), DeviceSpec("bmc-r02", "bmc", temperature_c=24.0),
             DeviceSpec("env-a", "envprobe")]
    with Simulator(specs, clock=SimClock(start=T0, frozen=True)) as running:
        yield running


@pytest.fixture
def platform(nx_env: Environment, sim: Simulator, webhook: WebhookReceiver, smtp: SmtpReceiver,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("BMC_PASSWORD", "secret")
    install_temperature_module(nx_env)
    notifications = {
        "channels": {"ops-hook": {"type": "webhook", "url": webhook.url},
                     "ops-mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "starttls": False,
                                  "sender": "nxforge@example.org", "to": ["ops@example.org"]}},
        "rules": [{"channels": ["ops-hook", "ops-mail"], "modules": ["temperature-*"], "min_severity": "warning"}],
        "reminder_interval": "4h",
        "retry": {"attempts": 3, "backoff_s": 0.05},
    }
    nx_env.core_config_path.write_text(yaml.safe_dump({"site_name": "Test DC", "notifications": notifications}))
    folder = nx_env.config_dir / "temperature-monitor"
    folder.mkdir()
    (folder / "room-a.yaml").write_text(sensors_yaml(sim))
    created = Platform(nx_env, clock=Clock())
    yield created
    created.close()
    loaded = ("nxforge_modules.temperature_monitor", "nxforge_modules.hello")
    for name in [m for m in sys.modules if m.startswith(loaded)]:
        sys.modules.pop(name)


def test_overheating_rack_alerts_once_and_recovers_once(platform: Platform, sim: Simulator,
                                                        webhook: WebhookReceiver, smtp: SmtpReceiver) -> None:
    service = NotificationService(platform.engine, platform.core.notifications, platform.env.secrets,
                                  site_name=platform.core.site_name, clock=platform.clock, poll_s=0.2)
    service.attach(platform.events)
    enable_module(platform, "temperature-monitor", "tester")
    clock = platform.clock
    assert isinstance(clock, Clock)

    def step(seconds: float = 37.0) -> None:
        run = run_job(platform, "temperature-monitor", "collect")
        assert run.status == "ok", run.error
        clock.now += timedelta(seconds=seconds)
        sim.clock.advance(timedelta(seconds=seconds))

    step()
    sim.device("bmc-r01").set_fault("overheat", celsius=35.1)
    sim.device("bmc-r01").set_fault("wobble", amplitude=0.6, period_s=70)
    for _ in range(12):  # ~7 minutes wobbling across the critical limit
        step()
    sim.device("bmc-r01").clear_faults()
    for _ in range(3):
        step()
    assert service.flush(10)
    service.close(2)

    assert [(b["phase"], b["key"], b["severity"]) for b in webhook.bodies] == [
        ("raised", "r01-inlet", "critical"), ("recovered", "r01-inlet", "critical")]
    assert [m["Subject"] for m in smtp.messages] == [
        "[NxForge] CRITICAL: temperature-monitor temperature.high r01-inlet",
        "[NxForge] RECOVERED: temperature-monitor temperature.high r01-inlet"]
    with platform.engine.connect() as conn:
        assert [(r.key, r.state) for r in conn.execute(select(alerts))] == [("r01-inlet", "closed")]

    from nxforge_modules.temperature_monitor.config import all_sensors, load_devices
    from nxforge_modules.temperature_monitor.queries import alert_history, current_state, rack_grid, thresholds, trend
    from nxforge_modules.temperature_monitor.settings import TemperatureSettings

    settings = TemperatureSettings.from_context(platform.context("temperature-monitor"))
    sensors = all_sensors(load_devices(platform.env.config_dir / "temperature-monitor", settings)[0])
    history = alert_history(platform.engine)
    assert history["transition"].to_list() == ["recovered", "raised"]
    current = current_state(platform.engine, sensors)
    assert current.filter(current["sensor_id"] == "r01-inlet")["level"].to_list() == ["ok"]
    assert rack_grid(current)["rack"].to_list() == ["R01", "R02"]
    series = trend(platform.engine, ["r01-inlet"], T0, clock.now)
    assert series.height == 16 and series["value"].max() > 35  # type: ignore[operator]
    assert set(thresholds(sensors).filter(thresholds(sensors)["sensor_id"] == "r01-inlet")["limit"]) == {30, 35}


def test_modules_coexist_through_enable_disable_uninstall(platform: Platform, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("HELLO_TOKEN", "t0ken")
    copy_fixture_module(platform.env, "hello_module")
    settings = {"hello-module": {"token": "${HELLO_TOKEN}"}}
    config = yaml.safe_load(platform.env.core_config_path.read_text())
    platform.env.core_config_path.write_text(yaml.safe_dump({**config, "modules": {"settings": settings}}))
    platform.reload()
    enable_module(platform, "hello-module", "tester")
    enable_module(platform, "temperature-monitor", "tester")
    assert run_job(platform, "hello-module", "greet").status == "ok"
    assert run_job(platform, "temperature-monitor", "collect").status == "ok"

    disable_module(platform, "temperature-monitor", "tester")
    assert platform.enabled_names == ["hello-module"]
    uninstall_module(platform, "temperature-monitor", "tester")
    tables = set(inspect(platform.engine).get_table_names())
    assert not any(name.startswith("tm_") for name in tables) and "hm_greetings" in tables
    assert run_job(platform, "hello-module", "greet").status == "ok"
    with platform.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM hm_greetings")).scalar_one() == 2

    install_temperature_module(platform.env)
    platform.reload()
    enable_module(platform, "temperature-monitor", "tester")
    assert run_job(platform, "temperature-monitor", "collect").status == "ok"
    disable_module(platform, "hello-module", "tester")
    uninstall_module(platform, "hello-module", "tester")
    tables = set(inspect(platform.engine).get_table_names())
    assert "hm_greetings" not in tables and {"tm_readings", "tm_sensor_state", "tm_alert_log"} <= tables
    with platform.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM tm_readings")).scalar_one() == 8
    assert platform.enabled_names == ["temperature-monitor"]
