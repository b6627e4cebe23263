"""Secret references: ``${NAME}`` resolved from the environment or ``config/secrets.yaml``.

Configs keep the reference, never the value, so a model dump, a log line or an export cannot
carry a password. Code that needs the value (a login) resolves it at the last moment and tells
the redactor what to scrub.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from nxforge.config.loader import load_yaml
from nxforge.errors import NxForgeError
from nxforge.log_redaction import remember_secret

log = logging.getLogger(__name__)

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
REDACTED = "***"


class MissingSecretError(NxForgeError, KeyError):
    """A ``${NAME}`` reference has no value in the environment nor in secrets.yaml (a KeyError too)."""

    def __init__(self, name: str, secrets_file: Path | None) -> None:
        where = f" or in {secrets_file}" if secrets_file else ""
        super().__init__(f"secret ${{{name}}} is not set", hint=f"export {name}=... in the environment{where}")
        self.name = name

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}"


class SecretStore:
    """Looks up ``${NAME}`` references; the environment wins over ``secrets.yaml``."""

    def __init__(self, secrets_file: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.secrets_file = secrets_file
        self._environ = environ if environ is not None else os.environ
        self._file_values: dict[str, str] = {}
        if secrets_file is not None and secrets_file.exists():
            loaded = load_yaml(secrets_file).data or {}  # the safe loader: no alias bomb, no duplicate key
            if not isinstance(loaded, dict):
                raise ValueError(f"{secrets_file}: expected a mapping of NAME: value")
            self._file_values = {str(k): str(v) for k, v in loaded.items()}

    def __reduce__(self) -> tuple[type[SecretStore], tuple[Path | None, dict[str, str] | None]]:
        """Pickled for the collector's scraping process (a pipe, never a file): the file is read again
        there, the environment is the child's own unless this store was given one."""
        environ = None if self._environ is os.environ else dict(self._environ)
        return SecretStore, (self.secrets_file, environ)

    def lookup(self, name: str) -> str:
        """The value of one secret by name."""
        if name in self._environ:
            value = self._environ[name]
        elif name in self._file_values:
            value = self._file_values[name]
        else:
            raise MissingSecretError(name, self.secrets_file)
        remember_secret(value)  # scrubbed from every later log line, a library's included
        return value

    def resolve(self, text: str) -> str:
        """Replace every ``${NAME}`` in ``text``; text without references is returned as is."""
        return REFERENCE.sub(lambda match: self.lookup(match.group(1)), text)

    def has(self, name: str) -> bool:
        """True when ``name`` has a value somewhere."""
        return name in self._environ or name in self._file_values


def is_reference(text: str) -> bool:
    """True when ``text`` contains a ``${NAME}`` reference."""
    return bool(REFERENCE.search(text))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Scrub every known secret value out of ``text`` (longest first, so overlaps go whole)."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
