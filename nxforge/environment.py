"""Where things are: config folder, data folder, database, modules folder.

Everything the process needs to find is decided here once, from the environment with sensible
defaults, so tests and the demo point a whole run elsewhere by setting a few variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from nxforge.config.loader import validate_file
from nxforge.config.models import CoreConfig
from nxforge.secrets import SecretStore

CORE_CONFIG_FILE = "nxforge.yaml"
SECRETS_FILE = "secrets.yaml"


@dataclass(frozen=True)
class Environment:
    """The folders and database one NxForge process works with."""

    config_dir: Path
    data_dir: Path
    modules_dir: Path
    database_url_override: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """Read ``NXFORGE_*`` variables; defaults are relative to the working directory."""
        env = os.environ if environ is None else environ
        return cls(
            config_dir=Path(env.get("NXFORGE_CONFIG_DIR", "config")).resolve(),
            data_dir=Path(env.get("NXFORGE_DATA_DIR", "data")).resolve(),
            modules_dir=Path(env.get("NXFORGE_MODULES_DIR", "modules")).resolve(),
            database_url_override=env.get("NXFORGE_DATABASE_URL") or None,
        )

    @property
    def core_config_path(self) -> Path:
        """``config/nxforge.yaml``."""
        return self.config_dir / CORE_CONFIG_FILE

    @cached_property
    def secrets(self) -> SecretStore:
        """Secrets from the environment, then ``config/secrets.yaml``."""
        return SecretStore(self.config_dir / SECRETS_FILE)

    def load_core_config(self) -> CoreConfig:
        """Validated ``nxforge.yaml``; a missing file means all defaults."""
        if not self.core_config_path.exists():
            return CoreConfig()
        return validate_file(self.core_config_path, CoreConfig)

    def database_url(self, core: CoreConfig | None = None) -> str:
        """The SQLAlchemy URL: env override, then nxforge.yaml, then SQLite under the data folder."""
        if self.database_url_override:
            url = self.database_url_override
        else:
            core = core or self.load_core_config()
            url = core.database.url or f"sqlite:///{self.data_dir / 'nxforge.db'}"
        return self.secrets.resolve(url)

    def module_data_dir(self, module: str) -> Path:
        """A module's own file storage (evidence, spool, state), created on first use."""
        path = self.data_dir / "modules" / module
        path.mkdir(parents=True, exist_ok=True)
        return path
