"""The one error base: every NxForge error carries the message a user reads and, where it helps, a hint."""

from __future__ import annotations


class NxForgeError(Exception):
    """An error meant for a person: ``message`` says what is wrong, ``hint`` what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
