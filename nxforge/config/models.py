"""The core's own configuration file, ``config/nxforge.yaml``.

Kernel code: it names no feature. A section another package owns (``notifications:``) is kept as
plain data here and validated by that package (``nxforge.notifications.config``), with file:line.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ModulesSection(StrictModel):
    """Which modules run, and their settings; kept in YAML so the choice is versioned."""

    enabled: list[str] = Field(default_factory=list)
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)


class DatabaseSection(StrictModel):
    """Where data lives; ``NXFORGE_DATABASE_URL`` overrides ``url``."""

    url: str | None = None


class CoreConfig(StrictModel):
    """``nxforge.yaml``: site-wide settings that no module owns."""

    site_name: str = "NxForge"
    timezone: str = "UTC"
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    modules: ModulesSection = Field(default_factory=ModulesSection)
    notifications: dict[str, Any] = Field(
        default_factory=dict, description="alerts: channels, routing rules, reminders, retries"
    )
    """Validated by ``nxforge.notifications.config.NotificationsConfig`` where it is used."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as Europe/Paris") from exc
        return value
