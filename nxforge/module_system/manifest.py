"""The module manifest: one validated model, also exported as JSON Schema for editors and docs.

A manifest is read without importing any of the module's code, so a module whose code is broken
is still listed, with its error, and never stops the others from loading.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from nxforge.durations import parse_duration
from nxforge.roles import ALL_ROLES, Role

KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
HANDLER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
DAILY = re.compile(r"^daily\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


def _reference_shape(value: str) -> str:
    if not HANDLER.match(value):
        raise ValueError(f"{value!r} is not package.module:name")
    return value


Reference = Annotated[str, AfterValidator(_reference_shape)]
"""A ``package.module:name`` reference to a function or class in the module's package."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingSpec(Strict):
    """One typed setting an admin can change; shown as a form field generated from this spec."""

    type: Literal["string", "integer", "number", "boolean", "select", "duration"]
    label: str
    description: str = ""
    default: Any = None
    required: bool = False
    secret: bool = False
    options: list[Any] | None = None

    @model_validator(mode="after")
    def _default_or_required(self) -> SettingSpec:
        if self.default is None and not self.required:
            raise ValueError("give the setting a default or mark it required: true")
        if self.type == "select" and not self.options:
            raise ValueError("a select setting needs options")
        if self.secret and self.default is not None and "${" not in str(self.default):
            raise ValueError("a secret setting's default must be a ${NAME} reference, never a literal")
        return self


class Schedule(Strict):
    """When a job runs: every ``interval_s`` seconds, or once a day at ``daily_at`` (site time)."""

    interval_s: float | None = None
    daily_at: time | None = None

    @classmethod
    def parse(cls, value: str | None) -> Schedule | None:
        """``15m`` -> every 15 minutes, ``daily 02:30`` -> each day at 02:30, None -> manual only."""
        if value is None:
            return None
        daily = DAILY.match(value.strip())
        if daily:
            return cls(daily_at=time(int(daily["hour"]), int(daily["minute"])))
        return cls(interval_s=parse_duration(value))


class JobSpec(Strict):
    """A job the collector runs: a handler ``package.module:function(ctx) -> summary``."""

    title: str
    description: str = ""
    handler: Reference
    schedule: str | None = Field(default=None, description="15m, 1h, 'daily 02:00', or null for manual")
    timeout: str | float = "10m"
    retries: int = Field(default=0, ge=0, le=10)
    concurrent: bool = Field(
        default=False,
        description="true when the job claims its own work rows, so several collectors may run it at once",
    )
    offline: bool = Field(
        default=False,
        description="true when the job still does useful work with the database down (scrape and spool); "
        "the collector then runs it without recording an execution",
    )
    config: dict[str, SettingSpec] = Field(default_factory=dict)

    @field_validator("schedule")
    @classmethod
    def _schedule_shape(cls, value: str | None) -> str | None:
        Schedule.parse(value)
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout_shape(cls, value: str | float) -> str | float:
        parse_duration(value)
        return value

    @property
    def parsed_schedule(self) -> Schedule | None:
        """The schedule as a structure."""
        return Schedule.parse(self.schedule)

    @property
    def timeout_s(self) -> float:
        """The timeout in seconds."""
        return parse_duration(self.timeout)


class PageSpec(Strict):
    """A Streamlit page: a function ``render(ctx, role)`` shown to the roles listed."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    handler: Reference
    icon: str | None = None
    roles: list[Role] = Field(default_factory=lambda: list(ALL_ROLES))
    order: int = 100
    default: bool = False


class Requirements(Strict):
    """What must be there first: a core version range and other modules by name."""

    core: str = ">=0.1"
    modules: list[str] = Field(default_factory=list)

    @field_validator("core")
    @classmethod
    def _specifier(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(f"{value!r} is not a version range such as '>=0.1,<1'") from exc
        return value


class ConfigFiles(Strict):
    """The module's own YAML files under ``config/<folder>/``, each validated by ``model``."""

    folder: str
    model: Reference


class Manifest(Strict):
    """``modules/<package>/manifest.yaml``."""

    name: str = Field(description="kebab-case, unique")
    version: str
    display_name: str
    description: str
    author: str
    license: str = "proprietary"
    package: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", description="the Python package: the folder name")
    requires: Requirements = Field(default_factory=Requirements)
    jobs: dict[str, JobSpec] = Field(default_factory=dict)
    pages: list[PageSpec] = Field(default_factory=list)
    settings: dict[str, SettingSpec] = Field(default_factory=dict)
    permissions: list[str] = Field(default_factory=list)
    config: ConfigFiles | None = None
    commands: dict[str, str] = Field(
        default_factory=dict,
        description="extra `nxforge NAME` commands: name -> package.module:function(ctx, argv) -> exit status",
    )
    hooks: dict[Literal["demo", "config-rules", "scrape-config", "clients"], str] = Field(
        default_factory=dict,
        description="functions the core calls at set moments; see nxforge/module_system/contract.py HOOKS",
    )
    table_prefix: str | None = Field(default=None, pattern=r"^[a-z]+_$")

    @field_validator("name")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not KEBAB.match(value):
            raise ValueError(f"{value!r} must be kebab-case, like consumption-monitor")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        names = [page.name for page in self.pages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"page names must be unique in a module; repeated: {', '.join(duplicates)}")
        for name, handler in [*self.commands.items(), *self.hooks.items()]:
            if not HANDLER.match(handler) or not KEBAB.match(name):
                raise ValueError(f"command {name!r}: {handler!r} must be a kebab-case name -> package.module:function")
        handlers = [job.handler for job in self.jobs.values()] + [page.handler for page in self.pages]
        for handler in [*handlers, *self.commands.values(), *self.hooks.values()]:
            if handler.split(".")[0].split(":")[0] != self.package:
                raise ValueError(f"handler {handler!r} must live in the module's own package {self.package!r}")
        if self.name in self.requires.modules:
            raise ValueError("a module cannot require itself")
        return self

    def defaults(self) -> dict[str, Any]:
        """Every setting's default value."""
        return {key: spec.default for key, spec in self.settings.items()}

    def settings_with(self, overrides: dict[str, Any] | None) -> dict[str, Any]:
        """The module's settings: defaults overlaid with ``modules.settings.<name>`` from nxforge.yaml."""
        return {**self.defaults(), **(overrides or {})}


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of manifest.yaml, for editors and the docs."""
    return Manifest.model_json_schema()
