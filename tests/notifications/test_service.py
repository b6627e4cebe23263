"""Alerts through the event bus to real receivers: dedupe, escalation, reminders, recovery, retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from nxforge.db.schema import events
from nxforge.events import EventBus
from nxforge.metrics import REGISTRY
from nxforge.notifications import ModuleAlerts, NotificationService
from nxforge.notifications.tables import alerts, notification_attempts
from nxforge.platform import ensure_schema
from nxforge.secrets import SecretStore
from tests.notifications.receivers import SmtpReceiver, WebhookReceiver


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def make_service(engine: Engine, clock: Clock, channels: dict[str, Any], **extra: Any) -> tuple[
        NotificationService, EventBus]:
    ensure_schema(engine)
    config = {
        "channels": channels,
        "rules": [{"channels": list(channels), "min_severity": "warning"}],
        "retry": {"attempts": 3, "backoff_s": 0.05, "max_backoff_s": 0.2},
        **extra,
    }
    secrets = SecretStore(None, {"HOOK_TOKEN": "tok-123", "SMTP_PASSWORD": "s3cret"})
    service = NotificationService(engine, config, secrets, site_name="Test site", clock=clock, poll_s=0.2)
    bus = EventBus(engine)
    service.attach(bus)
    return service, bus


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hook_service(engine: Engine, clock: Clock, webhook: WebhookReceiver) -> Iterator[tuple[NotificationService,
                                                                                         ModuleAlerts]]:
    channels = {"hook": {"type": "webhook", "url": webhook.url, "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"}}}
    service, bus = make_service(engine, clock, channels, reminder_interval="1h")
    yield service, ModuleAlerts(bus, "temperature-monitor")
    service.close(2)


def test_repeated_raise_sends_once_then_recovery(hook_service: Any, webhook: WebhookReceiver, engine: Engine,
                                                 clock: Clock) -> None:
    service, module_alerts = hook_service
    for _ in range(5):
        module_alerts.raise_alert("r01-inlet", "critical", "R01 inlet 45 °C", {"value": 45.0}, kind="temperature.high")
        clock.now += timedelta(minutes=1)
    module_alerts.resolve("r01-inlet", "R01 inlet back to 22 °C")
    module_alerts.resolve("r01-inlet", "again: nothing open, nothing sent")
    assert service.flush(5)
    assert [b["phase"] for b in webhook.bodies] == ["raised", "recovered"]
    assert webhook.bodies[0]["kind"] == "temperature.high" and webhook.bodies[0]["data"]["value"] == 45.0
    assert webhook.headers[0]["Authorization"] == "Bearer tok-123"
    with engine.connect() as conn:
        rows = conn.execute(select(alerts)).all()
        stored = conn.execute(select(notification_attempts.c.payload)).all()
    assert len(rows) == 1 and rows[0].state == "closed"
    assert all("tok-123" not in str(row.payload) for row in stored)


def test_escalation_and_reminder(hook_service: Any, webhook: WebhookReceiver, clock: Clock) -> None:
    service, module_alerts = hook_service
    module_alerts.raise_alert("r02-inlet", "warning", "warm", kind="temperature.high")
    module_alerts.raise_alert("r02-inlet", "critical", "hot", kind="temperature.high")
    module_alerts.raise_alert("r02-inlet", "warning", "cooling a bit", kind="temperature.high")
    clock.now += timedelta(minutes=61)
    # The service's own background pass may send the reminder first; either way it goes out once.
    service.alerts.send_reminders()
    assert service.alerts.send_reminders() == 0
    assert service.flush(5)
    assert [(b["phase"], b["severity"]) for b in webhook.bodies] == [
        ("raised", "warning"), ("escalated", "critical"), ("reminder", "warning")]


def test_notices_are_deduplicated_within_the_interval(hook_service: Any, webhook: WebhookReceiver,
                                                      engine: Engine, clock: Clock) -> None:
    service, module_alerts = hook_service
    module_alerts.notice("meter-7", "warning", "counter reset detected", kind="meter.reset")
    module_alerts.notice("meter-7", "warning", "counter reset detected again", kind="meter.reset")
    EventBus(engine).emit("core", "module.enabled", "info events route nowhere")
    clock.now += timedelta(hours=2)
    module_alerts.notice("meter-7", "warning", "another reset, later", kind="meter.reset")
    assert service.flush(5)
    assert [b["message"] for b in webhook.bodies] == ["counter reset detected", "another reset, later"]


def test_failing_channel_is_retried_with_backoff(hook_service: Any, webhook: WebhookReceiver, engine: Engine) -> None:
    service, module_alerts = hook_service
    webhook.failures = 2
    failures_before = REGISTRY.get_sample_value("nxforge_notification_failures_total", {"channel": "hook"}) or 0.0
    module_alerts.raise_alert("r03-inlet", "critical", "hot", kind="temperature.high")
    assert service.flush(5)
    assert len(webhook.bodies) == 1
    failures_after = REGISTRY.get_sample_value("nxforge_notification_failures_total", {"channel": "hook"})
    assert failures_after == failures_before + 2
    with engine.connect() as conn:
        row = conn.execute(select(notification_attempts)).one()
    assert row.status == "sent" and row.attempts == 3 and "HTTP 503" in row.last_error


def test_permanent_failure_is_recorded_and_reported(engine: Engine, clock: Clock, webhook: WebhookReceiver) -> None:
    webhook.failures, webhook.fail_status = 99, 404
    service, bus = make_service(engine, clock, {"hook": {"type": "webhook", "url": webhook.url}})
    try:
        ModuleAlerts(bus, "m").raise_alert("k", "critical", "boom")
        assert service.flush(5)
    finally:
        service.close(2)
    with engine.connect() as conn:
        row = conn.execute(select(notification_attempts)).one()
        failed = conn.execute(select(events).where(events.c.kind == "notification.failed")).all()
    assert row.status == "failed" and row.attempts == 1 and "HTTP 404" in row.last_error
    assert len(failed) == 1


def test_email_over_starttls_with_auth(engine: Engine, clock: Clock, tmp_path: Path) -> None:
    smtp = SmtpReceiver(tls_dir=tmp_path, user="nx", password="s3cret")
    channels = {"mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "starttls": True,
                         "ca_file": str(smtp.ca_file), "username": "nx", "password": "${SMTP_PASSWORD}",
                         "sender": "nxforge@example.org", "to": ["ops@example.org"]}}
    service, bus = make_service(engine, clock, channels)
    try:
        alerts_api = ModuleAlerts(bus, "temperature-monitor")
        alerts_api.raise_alert("r01-inlet", "critical", "R01 inlet at 45.0 °C", kind="temperature.high")
        alerts_api.resolve("r01-inlet", "R01 inlet back to normal")
        assert service.flush(10)
    finally:
        service.close(2)
        smtp.stop()
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == ["[NxForge] CRITICAL: temperature-monitor temperature.high r01-inlet",
                        "[NxForge] RECOVERED: temperature-monitor temperature.high r01-inlet"]
    assert "R01 inlet at 45.0 °C" in smtp.messages[0].get_payload(decode=True).decode()


def test_slack_payload(engine: Engine, clock: Clock, webhook: WebhookReceiver) -> None:
    service, bus = make_service(engine, clock, {"chat": {"type": "slack", "url": webhook.url, "channel": "#ops"}})
    try:
        ModuleAlerts(bus, "m").raise_alert("k", "warning", "disk warm", kind="disk.hot")
        assert service.flush(5)
    finally:
        service.close(2)
    body = webhook.bodies[0]
    assert body["channel"] == "#ops" and "WARNING: m disk.hot k" in body["text"] and "disk warm" in body["text"]
