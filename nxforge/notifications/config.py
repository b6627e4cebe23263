"""The ``notifications:`` section of ``config/nxforge.yaml``: channels, routing rules, reminders, retries.

Secrets (SMTP password, webhook tokens, a Slack URL) stay ``${NAME}`` references here and are
resolved by the channel at send time, so a config dump or a stored payload never holds one.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nxforge.config.loader import load_yaml, validate_loaded
from nxforge.durations import parse_duration
from nxforge.events import SEVERITIES, Severity
from nxforge.secrets import is_reference


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _duration(value: str | float | None) -> str | float | None:
    if value is not None:
        parse_duration(value)
    return value


class RetryPolicy(_Strict):
    """How a failing channel is retried: ``attempts`` in all, the delay doubling from ``backoff_s``."""

    attempts: int = Field(default=5, ge=1, le=20)
    backoff_s: float = Field(default=5.0, gt=0, le=3600)
    max_backoff_s: float = Field(default=600.0, gt=0, le=86400)

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


class WebhookChannelConfig(_Strict):
    """A generic webhook: the notification as JSON in a POST; header values may hold ``${NAME}``."""

    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    verify_tls: bool = True


class SlackChannelConfig(_Strict):
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): ``{"text": ...}``."""

    type: Literal["slack"]
    url: str = Field(description="usually a ${NAME} reference: the URL is the credential")
    channel: str | None = None
    username: str | None = "NxForge"
    icon_emoji: str | None = None
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    verify_tls: bool = True


class EmailChannelConfig(_Strict):
    """Email over SMTP, STARTTLS optional; the password is a ``${NAME}`` reference, never a literal."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    sender: str
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[NxForge]"
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    verify_tls: bool = True
    ca_file: str | None = Field(default=None, description="a CA bundle to trust for STARTTLS (private CAs)")

    @field_validator("password")
    @classmethod
    def _reference_only(cls, value: str | None) -> str | None:
        if value is not None and not is_reference(value):
            raise ValueError("write the password as a ${NAME} reference (environment or secrets.yaml), never inline")
        return value

    @model_validator(mode="after")
    def _password_with_user(self) -> EmailChannelConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self


ChannelConfig = Annotated[
    WebhookChannelConfig | SlackChannelConfig | EmailChannelConfig, Field(discriminator="type")
]


class RoutingRule(_Strict):
    """Send what matches to ``channels``: module names and alert kinds are shell-style patterns."""

    name: str | None = None
    channels: list[str] = Field(min_length=1)
    modules: list[str] = Field(default_factory=lambda: ["*"])
    kinds: list[str] = Field(default_factory=lambda: ["*"])
    min_severity: Severity = "warning"

    def matches(self, module: str, kind: str, severity: str) -> bool:
        """True when this rule wants a notification of ``kind`` from ``module`` at ``severity``."""
        return (
            severity_rank(severity) >= severity_rank(self.min_severity)
            and any(fnmatchcase(module, pattern) for pattern in self.modules)
            and any(fnmatchcase(kind, pattern) for pattern in self.kinds)
        )


class NotificationsConfig(_Strict):
    """Where alerts go and how insistently; an empty section means alerts are tracked, not sent."""

    enabled: bool = True
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    rules: list[RoutingRule] = Field(default_factory=list)
    reminder_interval: str | float | None = Field(default=
        "4h", description="re-send an open alert this often (15m, 4h, 1d); null: never"
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    max_pending: int = Field(default=1000, ge=10, description="deliveries waiting beyond this are dropped (and logged)")

    @field_validator("reminder_interval")
    @classmethod
    def _reminder_shape(cls, value: str | float | None) -> str | float | None:
        return _duration(value)

    @model_validator(mode="after")
    def _rules_name_channels(self) -> NotificationsConfig:
        for index, rule in enumerate(self.rules):
            unknown = [name for name in rule.channels if name not in self.channels]
            if unknown:
                known = ", ".join(sorted(self.channels)) or "none"
                raise ValueError(f"rules.{index}: unknown channel(s) {', '.join(unknown)}; channels defined: {known}")
        return self

    @property
    def reminder_s(self) -> float | None:
        """The reminder interval in seconds, or None when reminders are off."""
        if self.reminder_interval in (None, 0, "0"):
            return None
        assert self.reminder_interval is not None
        return parse_duration(self.reminder_interval)

    def route(self, module: str, kind: str, severity: str) -> list[str]:
        """Channel names every matching rule names, in first-seen order, without repeats."""
        if not self.enabled:
            return []
        names: list[str] = []
        for rule in self.rules:
            if rule.matches(module, kind, severity):
                names += [name for name in rule.channels if name not in names]
        return names


def severity_rank(severity: str) -> int:
    """0 for info up to 3 for critical; unknown severities rank as info."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


class _CoreFileView(BaseModel):
    """nxforge.yaml seen only for its notifications section (the rest is CoreConfig's business)."""

    model_config = ConfigDict(extra="ignore")
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)


def notifications_config(section: Any) -> NotificationsConfig:
    """The typed section from ``CoreConfig.notifications`` (plain data there), or one already typed."""
    if isinstance(section, NotificationsConfig):
        return section
    return NotificationsConfig.model_validate(section or {})


def load_notifications_config(core_config_path: Path) -> NotificationsConfig:
    """Validate the section straight from the file, so errors carry ``nxforge.yaml:LINE: notifications...``."""
    if not core_config_path.exists():
        return NotificationsConfig()
    return validate_loaded(load_yaml(core_config_path), _CoreFileView).notifications
