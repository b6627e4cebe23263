"""Isolation through the real collector process: hostile files beside valid ones, broken manifests, exit codes.

Every hostile case of ``tests/modules/consumption_monitor/test_isolation.py`` sits in the endpoint
folder at once, beside a valid file of two simulated meters: ``collector.py --once`` reads both
meters, names every bad file in its log, summary and a ``config.refused`` event, and exits 2. Broken
manifests of disabled modules (and of an enabled one) never stop the collector.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select, text

from nxforge.collector.runner import Collector
from nxforge.db.schema import events, executions
from nxforge.environment import Environment
from nxforge.platform import Platform
from nxforge.simulator import SimClock, Simulator
from tests.core.collector_site import CM, Site, endpoint_item, good_devices, make_site
from tests.modules.conftest import MODULES_DIR
from tests.modules.consumption_monitor.conftest import utc
from tests.modules.consumption_monitor.test_isolation import CASES, write_good

SECRET = "hunter2"


def _place_all_cases(site: Site, scratch: Path) -> list[str]:
    """Write every case into the endpoint folder, ids renamed per case; return the file names placed."""
    placed = []
    for number, (name, write) in enumerate(sorted(CASES.items())):
        case_dir = scratch / f"case-{number}"
        case_dir.mkdir(parents=True)
        write(case_dir)
        for entry in sorted(case_dir.iterdir()):
            target = site.endpoints_dir / f"{number:02d}-{entry.name}"
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                target.symlink_to(os.readlink(entry))
            elif stat.S_ISFIFO(mode):
                os.mkfifo(target)
            elif stat.S_ISDIR(mode):
                target.mkdir()
            else:
                content = entry.read_bytes()
                content = content.replace(b"x-1", f"x{number}-1".encode()).replace(b"x-ok", f"x{number}-ok".encode())
                target.write_bytes(content)
            placed.append(target.name)
        assert placed, name
    return placed


def _stored(url: str) -> tuple[dict[str, bool], list[tuple[str, str]], list[dict[str, object]], str]:
    """Readings per endpoint (any success), events (kind, message), execution summaries, and every text stored."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found: dict[str, bool] = {}
            for endpoint_id, success in conn.execute(text("SELECT endpoint_id, success FROM cm_reading")):
                found[endpoint_id] = found.get(endpoint_id, False) or bool(success)
            event_rows = [(row.kind, row.message) for row in conn.execute(select(events.c.kind, events.c.message))]
            runs = conn.execute(select(executions.c.summary, executions.c.log, executions.c.error)).fetchall()
            everything = repr(event_rows) + repr(runs)
            everything += repr(conn.execute(text("SELECT * FROM cm_reading")).fetchall())
            everything += repr(conn.execute(text("SELECT * FROM cm_endpoint")).fetchall())
    finally:
        engine.dispose()
    return found, event_rows, [row.summary for row in runs if row.summary], everything


def test_every_hostile_file_costs_only_itself(db_url: str, tmp_path: Path) -> None:
    devices = good_devices(2)
    with Simulator(devices) as sim:
        site = make_site(tmp_path / "site", db_url)
        write_good(site.endpoints_dir, sim.url_for)
        placed = _place_all_cases(site, tmp_path / "scratch")
        result = site.run_once(timeout=240)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output[-3000:]
        found, event_rows, summaries, everything = _stored(db_url)
        assert found.get("good-0") and found.get("good-1"), output[-3000:]
        (summary,) = summaries
        problems = "\n".join(summary["config_problems"])
        assert summary["config_problems_total"] == len(summary["config_problems"]) >= len(CASES)
        # Every hostile file is named; a client declared twice is named where it comes second (good.yaml).
        twice = f"{sorted(CASES).index('client declared twice'):02d}-bad.yaml"
        assert [name for name in placed if name not in problems] == [twice]
        assert "good.yaml:2: clients.0.name: client 'acme' twice" in problems
        assert any(kind == "config.refused" for kind, _ in event_rows)
        assert "Traceback" not in output
        assert SECRET not in output and SECRET not in everything  # refused, never stored

        # Fixed: the next run exits 0 and says so with an event.
        for entry in site.endpoints_dir.iterdir():
            if entry.name != "good.yaml":
                entry.rmdir() if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        again = site.run_once("--job", "collect")
        assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
        _, event_rows, _, _ = _stored(db_url)
        assert [kind for kind, _ in event_rows if kind.startswith("config.")] == ["config.refused", "config.fixed"]


def _broken_manifests(modules: Path) -> list[str]:
    """Modules whose manifest cannot be read, each a different way; returns their folder names."""
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 9)]
    broken: dict[str, bytes | None] = {
        "bad_utf8": b"name: bad-utf8\nversion: \xff\xfe\n",
        "alias_bomb": ("\n".join(bomb) + "\n").encode(),
        "deep": b"name: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "huge": b"# " + b"x" * (2 * 1024 * 1024) + b"\n",
        "not_a_mapping": b"- just\n- a list\n",
        "syntax": b"name: [unclosed\n",
        "invalid_fields": b"name: Not Kebab\nversion: one\n",
        "impossible_date": b"name: dated\nreleased: 2026-02-30\n",
        "manifest_dir": None,
    }
    for folder, content in broken.items():
        (modules / folder).mkdir()
        if content is None:
            (modules / folder / "manifest.yaml").mkdir()
        else:
            (modules / folder / "manifest.yaml").write_bytes(content)
    return sorted(broken)


@pytest.mark.parametrize("enable_a_broken_one", [False, True])
def test_broken_manifests_never_stop_the_collector(db_url: str, tmp_path: Path, enable_a_broken_one: bool) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "consumption_monitor").symlink_to(MODULES_DIR / "consumption_monitor")
    broken = _broken_manifests(modules)
    devices = good_devices(2)
    with Simulator(devices) as sim:
        enabled = [CM, "bad-utf8"] if enable_a_broken_one else [CM]
        site = make_site(tmp_path / "site", db_url, modules_dir=modules)
        site.write_core(enabled)
        write_good(site.endpoints_dir, sim.url_for)
        result = site.run_once()
        output = result.stdout + result.stderr
        assert "Traceback" not in output, output[-3000:]
        assert result.returncode == (2 if enable_a_broken_one else 0), output[-3000:]
        found, _, _, _ = _stored(db_url)
        assert found == {"good-0": True, "good-1": True}
        listing = site.nxforge("modules", "list")
        assert listing.returncode == 0 and "Traceback" not in listing.stderr
        for folder in broken:
            if folder != "manifest_dir":  # a folder without a manifest file is not a module at all
                assert f"{folder.replace('_', '-'):28} ?          broken" in listing.stdout, listing.stdout


def test_a_job_that_fails_exits_1(db_url: str, tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    (modules / "failing").mkdir(parents=True)
    (modules / "failing" / "__init__.py").write_text("")
    (modules / "failing" / "jobs.py").write_text("def boom(ctx):\n    raise RuntimeError('the job broke')\n")
    (modules / "failing" / "manifest.yaml").write_text(yaml.safe_dump({
        "name": "failing", "version": "1.0.0", "display_name": "Failing", "description": "fails",
        "author": "tests", "license": "MIT", "package": "failing", "requires": {"core": ">=0.1,<1"},
        "jobs": {"boom": {"title": "Boom", "handler": "failing.jobs:boom", "schedule": "1h"}}}))
    site = make_site(tmp_path / "site", db_url, modules_dir=modules, enabled=("failing",))
    result = site.run_once()
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    assert "failing/boom failed" in result.stdout


def test_an_invalid_nxforge_yaml_exits_2(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", f"sqlite:///{tmp_path / 'nx.db'}")
    site.core_config.write_text("modules:\n  enabled: [consumption-monitor]\n  enabled: []\n")
    result = site.run_once()
    assert result.returncode == 2 and "nxforge.yaml:3" in result.stderr and "Traceback" not in result.stderr


def test_an_endpoint_whose_file_breaks_is_kept_not_retired_and_not_claimed(db_url: str, tmp_path: Path) -> None:
    start = utc(2026, 4, 14, 9)
    clock = SimClock(start=start, frozen=True)
    devices = good_devices(3)
    with Simulator(devices, clock=clock) as sim:
        site = make_site(tmp_path / "site", db_url)
        site.write_endpoints("a.yaml", [endpoint_item(sim, d.id) for d in devices[:2]])
        extra = site.write_endpoints("b.yaml", [endpoint_item(sim, devices[2].id)], clients=())
        platform = Platform(Environment.from_environ(site.variables), clock=clock.now)
        try:
            assert [r.status for r in Collector(platform).run_due()] == ["ok"]
            extra.write_bytes(extra.read_bytes().replace(b"name: good-2", b"name: caf\xe9"))  # not UTF-8 any more
            clock.set(start + timedelta(hours=1, minutes=1))  # all three are due again
            collector = Collector(platform)
            (run,) = collector.run_due()
            assert run.status == "ok" and run.summary["total"] == 2 and run.config_problems
            assert collector.outcome([run]).exit_status() == 2
        finally:
            platform.close()
    rows = _rows(db_url, "SELECT id, retired_at, claimed_by FROM cm_endpoint ORDER BY id")
    assert rows == [("good-0", None, None), ("good-1", None, None), ("good-2", None, None)]
    counts = dict(_rows(db_url, "SELECT endpoint_id, count(*) FROM cm_reading GROUP BY endpoint_id"))
    assert counts == {"good-0": 2, "good-1": 2, "good-2": 1}


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()
