"""A whole NxForge site for scale tests: simulator fleet, endpoint YAML, module enabled, database URL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from nxforge.simulator import DeviceSpec, Simulator
from tests.modules.conftest import MODULES_DIR

ROOT = Path(__file__).resolve().parents[2]


def fresh_database(admin_url: str) -> str:
    """A new empty database on the server of ``admin_url``; its URL."""
    name = f"nx_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(make_url(admin_url).set(database=name).render_as_string(hide_password=False))


def plain_fleet(count: int, prefix: str = "m") -> list[DeviceSpec]:
    """``count`` plain-style meters (http engine) with distinct power."""
    return [DeviceSpec(f"{prefix}-{i:04d}", "plain", power_kw=0.5 + (i % 16) * 0.5, initial_kwh=1000.0 + i)
            for i in range(count)]


@dataclass
class Site:
    """Folders and variables of one site; ``platform()`` opens it in this process."""

    root: Path
    variables: dict[str, str]

    @property
    def env(self) -> Environment:
        return Environment.from_environ(self.variables)

    def platform(self, **kwargs: Any) -> Platform:
        return Platform(self.env, **kwargs)

    def subprocess_env(self) -> dict[str, str]:
        return {**os.environ, **self.variables, "PYTHONPATH": str(ROOT)}

    def collector(self, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
        """``python collector.py ARGS`` in this site, as a real process."""
        return subprocess.Popen([sys.executable, str(ROOT / "collector.py"), *args], cwd=self.root,
                                env=self.subprocess_env(), **popen)


def make_site(root: Path, database_url: str, sim: Simulator, devices: list[DeviceSpec], *, poll: str,
              settings: dict[str, Any], scrape: dict[str, Any] | None = None) -> Site:
    """Write nxforge.yaml and the endpoint YAML for ``devices`` on ``sim``; enable the module (migrations)."""
    for folder in ("config/consumption-monitor", "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    variables = {"NXFORGE_CONFIG_DIR": str(root / "config"), "NXFORGE_DATA_DIR": str(root / "data"),
                 "NXFORGE_MODULES_DIR": str(MODULES_DIR), "NXFORGE_DATABASE_URL": database_url}
    site = Site(root, variables)
    site.env.core_config_path.write_text(yaml.safe_dump({
        "timezone": "UTC", "modules": {"settings": {"consumption-monitor": settings}}}))
    endpoints = [{"id": spec.id, "name": spec.id, "client": f"client-{i % 7}", "feed": "A", "poll_interval": poll,
                  "circuit_max_kw": spec.power_kw * 2,
                  "scrape": {"preset": "plain", "url": sim.url_for(spec.id), "timeout_s": 5, **(scrape or {})}}
                 for i, spec in enumerate(devices)]
    clients = [{"name": name} for name in sorted({str(e["client"]) for e in endpoints})]  # every client declared
    (root / "config/consumption-monitor/site.yaml").write_text(yaml.safe_dump({"clients": clients,
                                                                              "endpoints": endpoints}))
    platform = site.platform()
    try:
        enable_module(platform, "consumption-monitor", "tests")
    finally:
        platform.close()
    return site
