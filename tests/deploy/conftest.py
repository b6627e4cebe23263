"""Shared helpers: the recipes installed into a temporary site, and the app started from its unit.

The recipes name the production paths (/opt/nxforge, /etc/nxforge/nxforge.env); ``installed``
rewrites exactly those to this checkout and a temporary env file, so what runs is the recipe's
own command line and nothing a test made up.
"""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.postgres_server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PRODUCTION_ROOT = "/opt/nxforge"
PRODUCTION_ENV_FILE = "/etc/nxforge/nxforge.env"


@dataclass(frozen=True)
class Site:
    """A temporary NxForge site: its folders, its env file, the variables it sets."""

    root: Path
    env_file: Path
    variables: dict[str, str]

    @property
    def config_dir(self) -> Path:
        return Path(self.variables["NXFORGE_CONFIG_DIR"])

    @property
    def data_dir(self) -> Path:
        return Path(self.variables["NXFORGE_DATA_DIR"])

    def environ(self) -> dict[str, str]:
        """os.environ without any NXFORGE_* of the caller, plus this site's variables."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NXFORGE_", "PG"))}
        return {**base, **self.variables}


def make_site(root: Path, database_url: str | None = None) -> Site:
    """Folders, a minimal nxforge.yaml, and an env file in the format of nxforge.env.example."""
    for folder in ("config", "data", "log"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "config" / "nxforge.yaml").write_text(yaml.safe_dump({"site_name": "deploy test", "timezone": "UTC"}))
    variables = {
        "NXFORGE_DATABASE_URL": database_url or f"sqlite:///{root / 'data' / 'nxforge.db'}",
        "NXFORGE_CONFIG_DIR": str(root / "config"),
        "NXFORGE_DATA_DIR": str(root / "data"),
        "NXFORGE_MODULES_DIR": str(ROOT / "modules"),
    }
    env_file = root / "nxforge.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in variables.items()))
    return Site(root, env_file, variables)


def installed(text: str, site: Site) -> str:
    """A recipe with the production paths pointing at this checkout and the site."""
    return (
        text.replace(PRODUCTION_ENV_FILE, str(site.env_file))
        .replace("/var/log/nxforge", str(site.root / "log"))
        .replace(PRODUCTION_ROOT, str(ROOT))
    )


def read_unit(path: Path) -> configparser.ConfigParser:
    """A systemd unit as sections and keys (keys keep their case)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def exec_start(unit: str, site: Site, replace: dict[str, str] | None = None) -> list[str]:
    """The unit's ExecStart as argv, installed into ``site``, with option values replaced."""
    argv = shlex.split(installed(read_unit(DEPLOY / "systemd" / unit)["Service"]["ExecStart"], site))
    for old, new in (replace or {}).items():
        argv[argv.index(old) + 1] = new
    return argv


def wait_for(url: str, timeout_s: float = 30, **kwargs: object) -> httpx.Response:
    """GET ``url`` until it answers 200."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = httpx.get(url, timeout=2, **kwargs)  # type: ignore[arg-type]
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout_s}s")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as systemctl stop sends; returns the exit status."""
    process.terminate()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=10)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Site]]:
    """Streamlit started with nxforge-app.service's own command line, on a free port."""
    site = make_site(tmp_path_factory.mktemp("app-site"))
    port = free_port()
    argv = exec_start("nxforge-app.service", site, {"--server.port": str(port)})
    process = subprocess.Popen(argv, cwd=ROOT, env=site.environ(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", timeout_s=60)
        yield port, site
    finally:
        stop(process)
