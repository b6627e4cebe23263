"""Alerts and notifications: one open alert per cause, sent to webhooks, Slack and email.

Modules never import this package: they emit ``alert.raised`` / ``alert.resolved`` /
``alert.notice`` events through their context, and the ``NotificationService`` the platform
attaches to the event bus does the rest (see ``service.py`` for the event conventions).
The package validates its own ``notifications:`` section of ``nxforge.yaml`` (``config.py``) and
brings its own SQL migrations (``migrations/``), which the platform applies at start-up.
"""

from pathlib import Path

from nxforge.notifications.alerts import AlertManager, AlertRecord
from nxforge.notifications.channels import DeliveryError
from nxforge.notifications.config import (
    EmailChannelConfig,
    NotificationsConfig,
    RetryPolicy,
    RoutingRule,
    SlackChannelConfig,
    WebhookChannelConfig,
    load_notifications_config,
    notifications_config,
)
from nxforge.notifications.message import Notification
from nxforge.notifications.notifier import Notifier
from nxforge.notifications.service import (
    ALERT_NOTICE,
    ALERT_RAISED,
    ALERT_RESOLVED,
    ModuleAlerts,
    NotificationService,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""The notification tables' numbered SQL files, applied like a module's."""
MIGRATIONS_NAME = "core.notifications"
"""The name their rows carry in ``module_migrations`` (no module can take it: manifest names have no dot)."""

__all__ = [
    "ALERT_NOTICE",
    "ALERT_RAISED",
    "ALERT_RESOLVED",
    "MIGRATIONS_DIR",
    "MIGRATIONS_NAME",
    "AlertManager",
    "AlertRecord",
    "DeliveryError",
    "EmailChannelConfig",
    "ModuleAlerts",
    "Notification",
    "NotificationService",
    "NotificationsConfig",
    "Notifier",
    "RetryPolicy",
    "RoutingRule",
    "SlackChannelConfig",
    "WebhookChannelConfig",
    "load_notifications_config",
    "notifications_config",
]
