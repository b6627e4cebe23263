"""Typed exceptions raised inside the engine; each maps to exactly one ``ScrapeError``."""

from __future__ import annotations

from ..errors import NxForgeError
from .result import ErrorClass, ScrapeError


class ScrapeFailure(NxForgeError):
    """A scrape went wrong in a way we can classify; carries the user-facing message and hint."""

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        hint: str | None = None,
        step_index: int | None = None,
    ) -> None:
        super().__init__(message, hint or "")
        self.error_class: ErrorClass = error_class
        self.step_index = step_index

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed (network trouble, slow or busy device)."""
        return self.error_class in ("unreachable", "timeout")

    def to_error(self) -> ScrapeError:
        """The serialisable form kept in a ``ScrapeResult`` (``hint`` is None when there is none)."""
        return ScrapeError(
            error_class=self.error_class, message=self.message, hint=self.hint or None, step_index=self.step_index
        )


class NoValueError(ScrapeFailure):
    """The meter shows a placeholder (``---``, ``N/A``, ``-1``) instead of a reading."""

    def __init__(self, text: str) -> None:
        super().__init__(
            "not_a_number",
            f"the meter reports no value (the page shows `{text.strip() or '(empty)'}`); "
            "no reading was recorded (never zero)",
            hint="the device may still be starting, or the channel is not wired; try again later",
        )
        self.text = text


class NumberFormatError(ScrapeFailure):
    """The text holds something that is not a number a person would trust."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__("not_a_number", f"`{text.strip()[:80]}` is not a number: {reason}")
        self.text = text


class UnitMismatchError(ScrapeFailure):
    """The text's own unit measures something else than the declared unit (kW shown, kWh wanted)."""

    def __init__(self, text_unit: str, declared: str) -> None:
        super().__init__(
            "implausible",
            f"the page shows a value in {text_unit} but the config declares {declared}; "
            "the selector probably points at the wrong element",
            hint="check the selector or try Suggest",
        )


class ConfigFailure(ScrapeFailure):
    """The config cannot work on this engine or machine (no browser, no lxml, bad regex)."""

    def __init__(self, message: str, hint: str | None = None, step_index: int | None = None) -> None:
        super().__init__("config", message, hint=hint, step_index=step_index)
