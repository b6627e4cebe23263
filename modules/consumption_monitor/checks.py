"""The ``config-rules`` hook: ``nxforge config check`` judges the endpoint folder as the collector does.

Each file on its own is checked by the core against ``EndpointsFile``; what only shows across
files (an endpoint id defined twice, a client referenced but declared nowhere) is found here by
the very function the collect job loads endpoints with, so the check refuses what it refuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nxforge.sdk import ConfigError, ConfigProblem

from .config import declared_clients, load_endpoints


def config_rules(*, config_dir: Path, settings: dict[str, Any]) -> list[ConfigProblem]:
    """Every problem the collect job would refuse in ``config_dir``, each with file:line."""
    try:
        load_endpoints(config_dir)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def declared_client_names(*, config_dir: Path, settings: dict[str, Any]) -> list[str]:
    """The clients the endpoint YAML declares: a client user's ``client:`` in users.yaml must name one."""
    return sorted(declared_clients(config_dir))
