"""A collector site for isolation, fresh-database, daemon and fault tests: real simulator, real collector process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nxforge.simulator import DeviceSpec, Simulator
from tests.modules.conftest import MODULES_DIR

ROOT = Path(__file__).resolve().parents[2]
CM = "consumption-monitor"


def good_devices(count: int = 2, prefix: str = "good") -> list[DeviceSpec]:
    """``count`` plain meters the simulator serves."""
    return [DeviceSpec(f"{prefix}-{i}", "plain", power_kw=1.0 + i, initial_kwh=1000.0 + i) for i in range(count)]


def endpoint_item(sim: Simulator, device_id: str, **extra: Any) -> dict[str, Any]:
    """One valid endpoint reading ``device_id`` on ``sim``."""
    item = {"id": device_id, "name": device_id, "client": "acme", "poll_interval": "1h",
            "scrape": {"preset": "plain", "url": sim.url_for(device_id), "timeout_s": 5, "retries": 0}}
    item.update(extra)
    return item


@dataclass
class Site:
    """Folders and variables of one site in a temporary folder."""

    root: Path
    variables: dict[str, str]

    @property
    def endpoints_dir(self) -> Path:
        return self.root / "config" / CM

    @property
    def core_config(self) -> Path:
        return self.root / "config" / "nxforge.yaml"

    def write_core(self, enabled: list[str], settings: dict[str, Any] | None = None) -> None:
        """Write nxforge.yaml (atomically, as the app does)."""
        body = {"timezone": "UTC", "modules": {"enabled": enabled, "settings": {CM: settings or {}}}}
        temporary = self.core_config.with_suffix(".tmp")
        temporary.write_text(yaml.safe_dump(body))
        temporary.replace(self.core_config)

    def write_endpoints(self, name: str, items: list[dict[str, Any]], clients: tuple[str, ...] = ("acme",)) -> Path:
        """Write one endpoints file."""
        path = self.endpoints_dir / name
        body = {"clients": [{"name": client} for client in clients], "endpoints": items}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(yaml.safe_dump(body, sort_keys=False))
        temporary.replace(path)
        return path

    def subprocess_env(self) -> dict[str, str]:
        return {**os.environ, **self.variables, "PYTHONPATH": str(ROOT)}

    def collector(self, *args: str, **popen: Any) -> subprocess.Popen[str]:
        """``python collector.py ARGS`` as a real process (text output)."""
        return subprocess.Popen([sys.executable, str(ROOT / "collector.py"), *args], cwd=self.root,
                                env=self.subprocess_env(), text=True, **popen)

    def run_once(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``collector.py --once ARGS`` to its end; output captured."""
        return subprocess.run([sys.executable, str(ROOT / "collector.py"), "--once", *args], cwd=self.root,
                              env=self.subprocess_env(), capture_output=True, text=True, timeout=timeout, check=False)

    def nxforge(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``python -m nxforge.cli ARGS`` (the ``nxforge`` command) to its end; output captured."""
        return subprocess.run([sys.executable, "-m", "nxforge.cli", *args], cwd=self.root, env=self.subprocess_env(),
                              capture_output=True, text=True, timeout=timeout, check=False)


def make_site(root: Path, database_url: str, *, modules_dir: Path = MODULES_DIR, enabled: tuple[str, ...] = (CM,),
              settings: dict[str, Any] | None = None) -> Site:
    """Folders, nxforge.yaml (modules enabled there, not yet migrated) and the variables of a site."""
    for folder in ("config/" + CM, "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    variables = {"NXFORGE_CONFIG_DIR": str(root / "config"), "NXFORGE_DATA_DIR": str(root / "data"),
                 "NXFORGE_MODULES_DIR": str(modules_dir), "NXFORGE_DATABASE_URL": database_url}
    site = Site(root, variables)
    site.write_core(list(enabled), settings)
    return site
