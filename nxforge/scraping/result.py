"""What a scrape hands back: values read, or one classified error, plus timings and evidence.

These are pydantic models so the collector, the app's Test button and the tests can dump them
to JSON; they never hold a secret (the engine redacts messages before building them).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .counter_semantics import CounterInfo

ErrorClass = Literal[
    "unreachable",
    "timeout",
    "tls",
    "auth_failed",
    "step_failed",
    "selector_not_found",
    "pattern_no_match",
    "not_a_number",
    "implausible",
    "config",
]

ERROR_CLASSES: tuple[str, ...] = ErrorClass.__args__  # type: ignore[attr-defined]
TRANSIENT_CLASSES: frozenset[str] = frozenset({"unreachable", "timeout"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReadValue(_Frozen):
    """One value read: the number in the declared unit, the text it came from, and, when the
    config declares it, how the counter wraps or resets (``counter``, in the same unit)."""

    value: float
    unit: str
    raw_text: str
    counter: CounterInfo | None = None


class ScrapeError(_Frozen):
    """Why a scrape failed, in words an operator can act on."""

    error_class: ErrorClass
    message: str
    hint: str | None = None
    step_index: int | None = None


class StepTiming(_Frozen):
    """How long one phase (first load, login, a step, reading values) took."""

    name: str
    seconds: float


class Evidence(_Frozen):
    """Files kept for a person to look at: a screenshot and the page source, both redacted."""

    screenshot: Path | None = None
    page_source: Path | None = None


class ScrapeResult(_Frozen):
    """The outcome of one scrape of one endpoint; ``key`` says which endpoint."""

    key: str
    ok: bool
    values: dict[str, ReadValue]
    error: ScrapeError | None = None
    timings: list[StepTiming] = []
    evidence: Evidence = Evidence()
    started_at: datetime
    duration_s: float
    engine: Literal["browser", "http", "snmp", "modbus"]
    attempts: int = 1


class Suggestion(_Frozen):
    """An element that looks like an energy reading, with the config that would read it."""

    selector: str
    regex: str
    text: str
    value: float
    unit: str
    label: str
    score: float = 0.0
    unit_from: str | None = None  # the config's ``unit_from`` when the unit is written beside the value
