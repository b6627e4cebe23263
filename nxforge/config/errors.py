"""Typed configuration errors that tell a person which file, line and field to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nxforge.errors import NxForgeError


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in one file: where it is and what to do about it."""

    file: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(NxForgeError):
    """One or more configuration problems; ``str()`` lists them all, one per line.

    Each problem already says where and what, so there is no separate hint.
    """

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
