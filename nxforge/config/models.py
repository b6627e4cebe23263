"""The core's own configuration file, ``config/nxforge.yaml``."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nxforge.notifications.config import NotificationsConfig


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
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as Europe/Paris") from exc
        return value
