"""Prometheus metrics: scraped over HTTP in daemon mode, written as a textfile in --once mode."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest
import yaml

from nxforge.cli import main
from nxforge.collector.jobs import run_job
from nxforge.environment import Environment
from nxforge.metrics import serve
from nxforge.module_admin.lifecycle import enable_module
from nxforge.platform import Platform
from tests.conftest import copy_fixture_module
from tests.postgres_server import free_port


@pytest.fixture
def platform(nx_env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    copy_fixture_module(nx_env, "hello_module")
    nx_env.core_config_path.write_text(yaml.safe_dump({"modules": {"settings": {"hello-module": {"token": "x"}}}}))
    created = Platform(nx_env)
    enable_module(created, "hello-module", "tester")
    yield created
    created.close()
    for name in [m for m in sys.modules if m.startswith("nxforge_modules.hello_module")]:
        sys.modules.pop(name)


def test_metrics_endpoint_serves_job_and_scrape_metrics(platform: Platform) -> None:
    run_job(platform, "hello-module", "greet")
    platform.context("hello-module").metrics.scrape("rack-a1", "timeout", 0.4, "http", None)
    port = free_port()
    serve(port)
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'nxforge_job_runs_total{job="greet",module="hello-module",status="ok"}' in body
    assert 'nxforge_scrapes_total{endpoint="rack-a1",module="hello-module",result="timeout"}' in body
    assert "nxforge_scrape_duration_seconds_bucket" in body


def test_once_mode_writes_a_textfile(platform: Platform) -> None:
    assert main(["collect", "--once"]) == 0
    textfile = platform.env.data_dir / "metrics" / "nxforge.prom"
    content = textfile.read_text()
    assert 'nxforge_job_runs_total{job="greet",module="hello-module",status="ok"}' in content
    assert "nxforge_collector_last_run_timestamp_seconds" in content
