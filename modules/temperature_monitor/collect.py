"""The ``collect`` job: scrape each device once, store its sensors' readings, evaluate thresholds.

Alerts leave the module as events only (``alert.raised`` / ``alert.resolved`` with the sensor
id as the cause key), so the core's notifications deduplicate, remind and route them, and the
module never knows which channels exist.
"""

from __future__ import annotations

from typing import Any

from nxforge.sdk import JobContext, ScrapeRequest, ScrapeResult

from . import store
from .config import DeviceInfo, SensorInfo, load_devices
from .settings import TemperatureSettings
from .thresholds import Transition, evaluate

ALERT_KIND = {"humidity": "humidity"}


def _alert_kind(sensor: SensorInfo, direction: str | None) -> str:
    return f"{ALERT_KIND.get(sensor.kind, 'temperature')}.{direction or 'high'}"


def alert_message(sensor: SensorInfo, value: float, transition: Transition) -> str:
    """What the alert log and the event say: where, the value, the side and limit crossed (or the recovery)."""
    where = f"{sensor.name} ({sensor.location}{', rack ' + sensor.rack if sensor.rack else ''})"
    if transition.kind == "recovered":
        return f"{where} back to normal at {value:.1f} {sensor.unit}"
    side = "above" if transition.direction == "high" else "below"
    return f"{where} at {value:.1f} {sensor.unit}, {side} the {transition.level} limit {transition.threshold:g}"


def _tell(ctx: JobContext, sensor: SensorInfo, value: float, transition: Transition) -> None:
    message = alert_message(sensor, value, transition)
    data: dict[str, Any] = {
        "key": sensor.id, "kind": _alert_kind(sensor, transition.direction), "sensor": sensor.id,
        "name": sensor.name, "location": sensor.location, "rack": sensor.rack, "value": value,
        "unit": sensor.unit, "threshold": transition.threshold, "level": transition.level,
    }
    if transition.kind == "recovered":
        ctx.emit("alert.resolved", message, "info", data)
    else:
        ctx.emit("alert.raised", message, transition.level, data)
    ctx.log.warning("%s: %s", transition.kind, message)


def _read_device(ctx: JobContext, settings: TemperatureSettings, device: DeviceInfo, result: ScrapeResult,
                 counts: dict[str, int]) -> None:
    now = ctx.clock()
    told: list[tuple[SensorInfo, float, Transition]] = []
    events: list[tuple[str, str, str, dict[str, Any]]] = []
    with ctx.db.begin() as conn:
        store.take_write_lock(conn)
        if result.ok:
            if store.device_ok(conn, device.id, now):
                events.append(("alert.resolved", f"device {device.id} readable again", "info",
                               {"key": f"device:{device.id}", "device": device.id}))
            counts["read"] += 1
            for sensor in device.sensors:
                value = result.values[sensor.value_name].value
                store.add_reading(conn, sensor.id, device.id, now, value, sensor.unit)
                state, transition = evaluate(store.load_state(conn, sensor.id), value, now, sensor.rule)
                store.save_state(conn, sensor.id, state, value, now, transition is not None)
                if transition is not None:
                    store.log_alert(conn, now, sensor.id, transition.kind, transition.level, transition.direction,
                                    value, transition.threshold, alert_message(sensor, value, transition))
                    told.append((sensor, value, transition))
        else:
            error = result.error.message if result.error else "unknown error"
            for sensor in device.sensors:
                store.add_reading(conn, sensor.id, device.id, now, None, sensor.unit, error)
            failures, alerting = store.device_failed(conn, device.id, error)
            counts["failed"] += 1
            if failures >= settings.failures_before_alert and not alerting:
                store.set_device_alerting(conn, device.id, True)
                events.append(("alert.raised", f"device {device.id} unreadable {failures} runs in a row: {error}",
                               "warning", {"key": f"device:{device.id}", "kind": "sensor.unreachable",
                                           "device": device.id, "failures": failures}))
    # Events after the commit: a subscriber never sees a change the database does not have, and
    # SQLite is not asked for a second writer while this transaction holds the lock.
    for kind, message, severity, data in events:
        ctx.emit(kind, message, severity, data)
    for sensor, value, transition in told:
        _tell(ctx, sensor, value, transition)
        counts[transition.kind] = counts.get(transition.kind, 0) + 1


def run(ctx: JobContext) -> dict[str, Any]:
    """Read every configured device (or the one named by ``--device``) once."""
    settings = TemperatureSettings.from_context(ctx)
    devices, problems = load_devices(ctx.config_dir, settings)
    only = ctx.filters.get("device") or ctx.filters.get("endpoint")
    if only:
        devices = [d for d in devices if d.id == only]
    counts: dict[str, int] = {"devices": len(devices), "read": 0, "failed": 0, "config_problems": len(problems)}
    if not devices:
        ctx.log.info("no sensor devices configured in %s", ctx.config_dir)
        return counts
    requests = [ScrapeRequest(key=device.id, config=device.scrape) for device in devices]
    results = ctx.scraping().scrape_many(requests)
    for done, (device, result) in enumerate(zip(devices, results, strict=True), start=1):
        if ctx.should_stop():
            break
        _read_device(ctx, settings, device, result, counts)
        ctx.progress(done, len(devices))
    return counts
