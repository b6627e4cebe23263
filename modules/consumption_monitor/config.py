"""The endpoint YAML: ``config/consumption-monitor/*.yaml``, each with ``endpoints:`` and ``clients:``.

Validation errors name file:line:field (through the core loader), a duplicate id across files
names both places, and a literal password is refused: a literal in YAML would end up in git,
in the form editor and in exported configs; a ``${NAME}`` reference never does.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nxforge.sdk import (
    ConfigError,
    ConfigProblem,
    LoadedYaml,
    ScrapeConfig,
    is_reference,
    load_yaml,
    parse_duration,
    validate_loaded,
)

from .terms import ClientTerms

__all__ = ["ClientTerms", "Endpoint", "EndpointSet", "EndpointsFile", "load_endpoints", "validate_text"]

log = logging.getLogger(__name__)

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SECRET_FIELDS = ("password", "cookie_value", "community", "auth_password", "priv_password")
"""Auth keys that must be ${REF} references: an SNMP community or v3 key is a password too."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientPeriod(_Strict):
    """The client an endpoint bills to from a date (site time, midnight) on."""

    client: str = Field(min_length=1)
    from_: date = Field(alias="from")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Endpoint(_Strict):
    """One meter or PDU feed to read and bill."""

    id: str = Field(description="stable key (slug): readings are stored under it; never reuse one")
    name: str
    client: str = Field(min_length=1)
    client_history: list[ClientPeriod] = Field(default_factory=list)
    location: str = ""
    type: str = "PowerMeter"
    vendor: str = ""
    enabled: bool = True
    poll_interval: str | None = Field(None, description="15m, 1h ...; absent: the module's default")
    circuit_max_kw: float | None = Field(None, gt=0, description="circuit rating: larger jumps are implausible")
    feed: Literal["A", "B"] | None = None
    rollover_kwh: float | None = Field(None, ge=0, description="overrides the module setting; 0 = never wraps")
    scrape: ScrapeConfig

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"{value!r} is not a slug: use lower-case letters, digits, '.', '_' or '-'")
        return value

    @field_validator("poll_interval")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) < 10:
            raise ValueError("poll_interval must be at least 10s")
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        auth = data.get("scrape", {}).get("auth") if isinstance(data, dict) else None
        if isinstance(auth, dict):
            for key in SECRET_FIELDS:
                value = auth.get(key)
                if isinstance(value, str) and value and not is_reference(value):
                    raise ValueError(
                        f"scrape.auth.{key} is a literal; write a reference such as ${{PDU_PASSWORD}} "
                        "and set it in the environment or config/secrets.yaml"
                    )
        return data

    @model_validator(mode="after")
    def _history_ordered(self) -> Endpoint:
        dates = [period.from_ for period in self.client_history]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("client_history must list distinct dates in increasing order")
        if self.client_history and self.client_history[-1].client != self.client:
            raise ValueError("the last client_history entry must be the current client")
        return self

    def poll_interval_s(self, default_s: float) -> float:
        """The poll interval in seconds, the module default when not given."""
        return parse_duration(self.poll_interval) if self.poll_interval else default_s


class EndpointsFile(_Strict):
    """One YAML file: endpoints, and the clients they bill to (declared in this file or another of the folder)."""

    endpoints: list[Endpoint] = Field(default_factory=list)
    clients: list[ClientTerms] = Field(
        default_factory=list, description="declared clients with their dated tariffs; every endpoint's client "
        "(and client_history entry) must be one of the clients declared in the folder's files")


@dataclass
class EndpointSet:
    """Every endpoint and client of every file, with where each was defined."""

    endpoints: list[Endpoint] = field(default_factory=list)
    clients: dict[str, ClientTerms] = field(default_factory=dict)
    source: dict[str, tuple[Path, int | None]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def by_id(self) -> dict[str, Endpoint]:
        """Endpoints keyed by id."""
        return {endpoint.id: endpoint for endpoint in self.endpoints}


def _validate_one(path: Path, text: str | None) -> tuple[EndpointsFile, LoadedYaml]:
    loaded = load_yaml(path, text)  # None: the loader reads the file (size, bytes and line checked)
    return validate_loaded(loaded, EndpointsFile), loaded


def validate_text(path: Path, text: str) -> tuple[EndpointsFile, LoadedYaml]:
    """Validate one file's text as it would sit in its folder (the form and the YAML editor call this
    before saving): its own rules, then its endpoints' clients against the clients declared in it and
    in the folder's other files. Raises ConfigError."""
    parsed, loaded = _validate_one(path, text)
    declared = {client.name for client in parsed.clients} | declared_clients(path.parent, skip=path)
    problems = _client_problems(path, loaded, parsed, declared)
    if problems:
        raise ConfigError(problems)
    return parsed, loaded


def _client_problems(path: Path, loaded: LoadedYaml, parsed: EndpointsFile, declared: set[str]
                     ) -> list[ConfigProblem]:
    """Each endpoint's client and client_history entry must be a declared client (a typo bills nobody)."""
    problems = []
    known = ", ".join(sorted(declared)) or "none"
    for index, item in enumerate(parsed.endpoints):
        named: list[tuple[tuple[str | int, ...], str]] = [(("endpoints", index, "client"), item.client)]
        named += [(("endpoints", index, "client_history", number, "client"), period.client)
                  for number, period in enumerate(item.client_history)]
        for location, client in named:
            if client not in declared:
                problems.append(ConfigProblem(
                    path, loaded.line_of(location), ".".join(str(part) for part in location),
                    f"client {client!r} is not declared under clients: (declared: {known}); "
                    "fix the spelling or add it with its tariff"))
    return problems


def declared_clients(folder: Path, skip: Path | None = None) -> set[str]:
    """Client names declared in the folder's files (unreadable files are left out)."""
    names: set[str] = set()
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        if skip is not None and path.resolve() == skip.resolve():
            continue
        try:
            parsed, _ = _validate_one(path, None)
        except (ConfigError, OSError):
            continue
        names |= {client.name for client in parsed.clients}
    return names


def _scan(folder: Path) -> tuple[EndpointSet, list[ConfigProblem]]:
    """Every file parsed, then the rules across files; per-file problems come first."""
    result = EndpointSet()
    problems: list[ConfigProblem] = []
    cross: list[ConfigProblem] = []
    parsed_files: list[tuple[Path, EndpointsFile, LoadedYaml]] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            parsed, loaded = _validate_one(path, None)
        except ConfigError as exc:
            problems += exc.problems
            continue
        parsed_files.append((path, parsed, loaded))
        result.files.append(path)
        for index, client in enumerate(parsed.clients):
            if client.name in result.clients:
                line = loaded.line_of(("clients", index, "name"))
                cross.append(ConfigProblem(path, line, f"clients.{index}.name", f"client {client.name!r} twice"))
            result.clients[client.name] = client
    for path, parsed, loaded in parsed_files:
        for index, endpoint in enumerate(parsed.endpoints):
            line = loaded.line_of(("endpoints", index, "id"))
            if endpoint.id in result.source:
                other_path, other_line = result.source[endpoint.id]
                cross.append(
                    ConfigProblem(
                        path, line, f"endpoints.{index}.id",
                        f"duplicate endpoint id {endpoint.id!r}: already defined at {other_path}:{other_line}",
                    )
                )
                continue
            result.source[endpoint.id] = (path, line)
            result.endpoints.append(endpoint)
        cross += _client_problems(path, loaded, parsed, set(result.clients))
    return result, problems + cross


def load_endpoints(folder: Path) -> EndpointSet:
    """Load and check every ``*.yaml`` in ``folder``; all problems of all files in one ConfigError."""
    if not folder.is_dir():
        log.warning("no endpoint folder %s: nothing to read", folder)
        return EndpointSet()
    result, problems = _scan(folder)
    if problems:
        raise ConfigError(problems)
    return result


def dump_endpoints_file(content: EndpointsFile) -> str:
    """YAML text for a file, as the form editor saves it (references stay references)."""
    data = content.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    for endpoint in data.get("endpoints", []):
        endpoint.setdefault("scrape", {})
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save_endpoints_file(path: Path, text: str) -> EndpointsFile:
    """Validate ``text`` then write it atomically; invalid text raises ConfigError and writes nothing."""
    parsed, _ = validate_text(path, text)
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return parsed
