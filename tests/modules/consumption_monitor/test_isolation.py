"""Isolation: a broken endpoint file, or one broken endpoint, costs only itself; every valid endpoint is still read.

Each hostile case sits beside a valid file of two endpoints. The collect job's loader keeps both
valid endpoints (and the valid neighbours inside a broken file) and names the problem at
file[:line]; the strict loader (the editor, ``nxforge config check``) refuses the same folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from nxforge_modules.consumption_monitor.collect_config import load_endpoints_isolated
from nxforge_modules.consumption_monitor.config import load_endpoints

from nxforge.sdk import ConfigError

GOOD_IDS = ["good-0", "good-1"]


def endpoint(endpoint_id: str, url: str = "http://127.0.0.1:9/meter", **extra: Any) -> dict[str, Any]:
    """A valid endpoint (the URL is only read by the collector tests, which pass the simulator's)."""
    item: dict[str, Any] = {"id": endpoint_id, "name": endpoint_id, "client": "acme", "poll_interval": "1h",
                            "scrape": {"preset": "plain", "url": url, "timeout_s": 5, "retries": 0}}
    item.update(extra)
    return item


def _dump(folder: Path, name: str, body: object) -> None:
    (folder / name).write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")


def _endpoints(folder: Path, *items: dict[str, Any], name: str = "bad.yaml") -> None:
    _dump(folder, name, {"endpoints": list(items)})


def _bytes(content: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / "bad.yaml").write_bytes(content)


def _alias_bomb() -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "bad.yaml")


# name -> writes the hostile file(s) into the folder; the good file is already there.
CASES: dict[str, Callable[[Path], None]] = {
    "wrong type in one endpoint": lambda f: _endpoints(f, endpoint("x-1", circuit_max_kw="lots")),
    "wrong type beside a valid endpoint": lambda f: _endpoints(f, endpoint("x-ok"), endpoint("x-1", enabled="maybe")),
    "duplicate id in one file": lambda f: _endpoints(f, endpoint("x-1"), endpoint("x-1")),
    "duplicate id across files": lambda f: _endpoints(f, endpoint("x-1")) or _endpoints(f, endpoint("x-1"),
                                                                                          name="other.yaml"),
    "non-UTF-8 bytes": _bytes(b"endpoints:\n  - id: caf\xe9\n"),
    "NUL and binary garbage": _bytes(b"\x00\x01\x02\xff\xfe garbage\n"),
    "impossible date": lambda f: _endpoints(f, endpoint("x-1", client_history=[{"client": "acme",
                                                                                "from": "2026-02-30"}])),
    "impossible date as YAML": _bytes(b"endpoints:\n  - id: x-1\n    client_history:\n      - {client: acme, "
                                      b"from: 2026-02-30}\n"),
    "duplicate YAML key": _bytes(b"endpoints:\n  - id: x-1\n    name: x\n    client: acme\n    scrape:\n"
                                 b"      preset: plain\n      url: http://127.0.0.1:9/a\n"
                                 b"      url: http://127.0.0.1:9/b\n"),
    "alias bomb": _bytes(_alias_bomb()),
    "deep nesting": _bytes(b"endpoints: " + b"[" * 5000 + b"]" * 5000 + b"\n"),
    "YAML syntax error": _bytes(b"endpoints:\n  - id: x-1\n\tname: tab\n"),
    "file over the size limit": _bytes(b"# " + b"x" * (1024 * 1024 + 10) + b"\n"),
    "a list at the top": lambda f: _dump(f, "bad.yaml", [endpoint("x-1")]),
    "endpoints is a string": lambda f: _dump(f, "bad.yaml", {"endpoints": "all of them"}),
    "endpoint is a string": lambda f: _dump(f, "bad.yaml", {"endpoints": ["x-1"]}),
    "unknown top-level key": lambda f: _dump(f, "bad.yaml", {"endpoint": [endpoint("x-1")]}),
    "unknown endpoint field": lambda f: _endpoints(f, endpoint("x-1", colour="red")),
    "missing scrape": lambda f: _endpoints(f, {k: v for k, v in endpoint("x-1").items() if k != "scrape"}),
    "literal password": lambda f: _endpoints(f, endpoint("x-1", scrape={"preset": "plain", "url": "http://h/",
                                                                        "auth": {"type": "basic", "username": "u",
                                                                                 "password": "hunter2"}})),
    "id not a slug": lambda f: _endpoints(f, endpoint("X 1")),
    "poll interval too short": lambda f: _endpoints(f, endpoint("x-1", poll_interval="1s")),
    "poll interval not a duration": lambda f: _endpoints(f, endpoint("x-1", poll_interval="often")),
    "undeclared client": lambda f: _endpoints(f, endpoint("x-1", client="nobody")),
    "client history out of order": lambda f: _endpoints(f, endpoint("x-1", client_history=[
        {"client": "acme", "from": "2026-03-01"}, {"client": "acme", "from": "2026-01-01"}])),
    "unknown preset": lambda f: _endpoints(f, endpoint("x-1", scrape={"preset": "no-such-preset", "url": "http://h/"})),
    "feed not A or B": lambda f: _endpoints(f, endpoint("x-1", feed="C")),
    "negative rating": lambda f: _endpoints(f, endpoint("x-1", circuit_max_kw=-3)),
    "client declared twice": lambda f: _dump(f, "bad.yaml", {"clients": [{"name": "acme"}],
                                                             "endpoints": [endpoint("x-1")]}),
    "a folder named like a file": lambda f: (f / "bad.yaml").mkdir(),
    "a dangling symbolic link": lambda f: (f / "bad.yaml").symlink_to(f / "nowhere"),
    "a link to a device": lambda f: (f / "bad.yaml").symlink_to("/dev/zero"),
    "a FIFO": _fifo,
    "a password in the URL": lambda f: _endpoints(f, endpoint("x-1", url="http://admin:hunter2@127.0.0.1:9/m")),
}
# Cases the strict loader is not asked about: a dangling link raises OSError (no file there), as a file
# missing does. A FIFO or a folder named *.yaml is refused by both loaders, without waiting for a writer.
NOT_FOR_THE_STRICT_LOADER = {"a dangling symbolic link"}
# Cases whose problem is not an endpoint: the endpoint beside it is read.
ENDPOINT_STILL_READ = {"client declared twice"}


def write_good(folder: Path, url_for: Callable[[str], str] = lambda _id: "http://127.0.0.1:9/meter") -> None:
    """The valid file every case sits beside: client acme and two endpoints."""
    _dump(folder, "good.yaml", {"clients": [{"name": "acme"}],
                                "endpoints": [endpoint(i, url_for(i)) for i in GOOD_IDS]})


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_file_or_endpoint_costs_only_itself(case: str, tmp_path: Path) -> None:
    write_good(tmp_path)
    CASES[case](tmp_path)
    endpoints, problems = load_endpoints_isolated(tmp_path)
    ids = [item.id for item in endpoints.endpoints]
    assert set(GOOD_IDS) <= set(ids), case
    assert problems, f"{case}: no problem reported"
    assert all(problem.file.name in ("bad.yaml", "other.yaml", "good.yaml") for problem in problems)
    assert all("Traceback" not in str(problem) for problem in problems)
    if case == "wrong type beside a valid endpoint":
        assert "x-ok" in ids  # the valid neighbour inside the broken file is read too
    assert ("x-1" in ids) == (case in ENDPOINT_STILL_READ), case
    if case not in NOT_FOR_THE_STRICT_LOADER:
        with pytest.raises(ConfigError):
            load_endpoints(tmp_path)  # the editor and `config check` refuse the same folder


def test_problems_carry_file_line_and_field(tmp_path: Path) -> None:
    write_good(tmp_path)
    _endpoints(tmp_path, endpoint("x-ok"), endpoint("x-1", circuit_max_kw="lots"))
    _, problems = load_endpoints_isolated(tmp_path)
    (problem,) = problems
    assert problem.file.name == "bad.yaml" and problem.field == "endpoints.1.circuit_max_kw"
    text = (tmp_path / "bad.yaml").read_text().splitlines()
    assert problem.line is not None and "circuit_max_kw" in text[problem.line - 1]
