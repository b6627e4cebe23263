"""deploy/cron/nxforge: a valid /etc/cron.d line whose command really runs the collector once."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.deploy.conftest import DEPLOY, installed, make_site

CRON_FILE = DEPLOY / "cron" / "nxforge"
RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
NAMES = {3: "jan feb mar apr may jun jul aug sep oct nov dec", 4: "sun mon tue wed thu fri sat"}
ENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def valid_field(text: str, index: int) -> bool:
    """One cron time field: ``*``, numbers, names, ranges, lists and ``/step``, within its range."""
    low, high = RANGES[index]
    names = NAMES.get(index, "").split()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not step.isdigit():
            return False
        if base == "*":
            continue
        for bound in base.split("-", 1):
            value = names.index(bound.lower()) + (1 if index == 3 else 0) if bound.lower() in names else None
            if value is None and not bound.isdigit():
                return False
            if not low <= (value if value is not None else int(bound)) <= high:
                return False
    return True


def job_lines() -> list[list[str]]:
    """Each job line as [5 time fields, user, command]."""
    jobs = []
    for line in CRON_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or ENV_LINE.match(line):
            continue
        fields = line.split(None, 6)
        assert len(fields) == 7, f"not minute hour day month weekday user command: {line}"
        jobs.append(fields)
    return jobs


def test_the_line_parses_and_names_collector_once() -> None:
    [fields] = job_lines()
    assert all(valid_field(field, index) for index, field in enumerate(fields[:5])), fields[:5]
    assert fields[5] == "nxforge"
    assert "collector.py --once" in fields[6]
    assert "%" not in fields[6], "cron turns % into a newline"
    assert "flock" not in fields[6], "the collector locks its jobs itself"


def test_field_parser_rejects_nonsense() -> None:
    assert valid_field("*/5", 0) and valid_field("1-5", 4) and valid_field("mon-fri", 4)
    assert not valid_field("60", 0) and not valid_field("*/x", 0) and not valid_field("0", 3)


def test_the_command_runs_the_collector_once(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    command = installed(job_lines()[0][6], site)
    result = subprocess.run(["/bin/sh", "-c", command], env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=60)
    log = (site.root / "log" / "collector.log").read_text(encoding="utf-8")
    assert result.returncode == 0, log
    assert "job(s) run" in log
    assert (site.data_dir / "metrics" / "nxforge.prom").is_file()
    assert (site.data_dir / "nxforge.db").is_file()
