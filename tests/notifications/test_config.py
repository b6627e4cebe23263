"""The notifications section: validation with file:line, secrets as references, routing."""

from __future__ import annotations

from pathlib import Path

import pytest

from nxforge.config.errors import ConfigError
from nxforge.notifications import NotificationsConfig, load_notifications_config

GOOD = {
    "channels": {
        "ops": {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
        "chat": {"type": "slack", "url": "${SLACK_URL}"},
        "mail": {"type": "email", "host": "smtp.example", "sender": "nx@example", "to": ["ops@example"],
                 "username": "nx", "password": "${SMTP_PASSWORD}"},
    },
    "rules": [
        {"channels": ["ops"], "min_severity": "warning"},
        {"channels": ["mail", "ops"], "modules": ["temperature-*"], "kinds": ["temperature.*"],
         "min_severity": "critical"},
    ],
}


def test_routes_by_module_kind_and_severity() -> None:
    config = NotificationsConfig.model_validate(GOOD)
    assert config.route("temperature-monitor", "temperature.high", "critical") == ["ops", "mail"]
    assert config.route("temperature-monitor", "temperature.high", "warning") == ["ops"]
    assert config.route("consumption-monitor", "meter.failing", "critical") == ["ops"]
    assert config.route("core", "module.enabled", "info") == []
    assert config.reminder_s == 4 * 3600


def test_password_must_be_a_reference() -> None:
    bad = {**GOOD, "channels": {**GOOD["channels"], "mail": {**GOOD["channels"]["mail"], "password": "hunter2"}}}
    with pytest.raises(ValueError, match="reference"):
        NotificationsConfig.model_validate(bad)


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "nxforge.yaml"
    path.write_text(
        "site_name: x\n"
        "notifications:\n"
        "  channels:\n"
        "    ops: {type: webhook, url: 'http://x/'}\n"
        "  rules:\n"
        "    - channels: [nope]\n"
        "      min_severity: loud\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_notifications_config(path)
    text = str(caught.value)
    assert "nxforge.yaml:7: notifications.rules.0.min_severity" in text


def test_rule_must_name_a_known_channel() -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        NotificationsConfig.model_validate({"channels": {}, "rules": [{"channels": ["ghost"]}]})
