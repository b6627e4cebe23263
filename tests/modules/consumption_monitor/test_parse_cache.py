"""The collector's parsed-YAML cache: same endpoints as parsing, parsed again when the file or an entry changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_endpoints_isolated(folder: Path, cache: Path | None = None) -> Any:
    """The module's loader as mounted now: a test earlier in the process may have mounted the module's
    code again, and pickle stores classes by name, so the loader and its classes must be one mount's."""
    from nxforge_modules.consumption_monitor.collect_config import load_endpoints_isolated as load

    return load(folder, cache)


def _write(folder: Path, endpoints: list[dict[str, object]]) -> Path:
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump({"clients": [{"name": "acme"}], "endpoints": endpoints}))
    return path


def _endpoint(endpoint_id: str, url: str = "http://127.0.0.1:9/") -> dict[str, object]:
    return {"id": endpoint_id, "name": endpoint_id, "client": "acme", "scrape": {"preset": "plain", "url": url}}


def test_cached_parse_equals_parsing_and_follows_changes(tmp_path: Path) -> None:
    folder, cache = tmp_path / "config", tmp_path / "cache"
    folder.mkdir()
    _write(folder, [_endpoint("a"), _endpoint("b"), {"id": "bad", "client": "nobody"}])
    plain = load_endpoints_isolated(folder)
    first = load_endpoints_isolated(folder, cache)
    assert len(list(cache.glob("*.pickle"))) == 1
    second = load_endpoints_isolated(folder, cache)  # from the cache
    for endpoints, problems in (first, second):
        assert [e.model_dump() for e in endpoints.endpoints] == [e.model_dump() for e in plain[0].endpoints]
        assert endpoints.source == plain[0].source and endpoints.clients.keys() == plain[0].clients.keys()
        assert [str(problem) for problem in problems] == [str(problem) for problem in plain[1]]
    assert [e.id for e in second[0].endpoints] == ["a", "b"] and second[1]
    _write(folder, [_endpoint("a", "http://127.0.0.1:10/")])  # edited: parsed again
    edited, problems = load_endpoints_isolated(folder, cache)
    assert [str(e.scrape.url) for e in edited.endpoints] == ["http://127.0.0.1:10/"] and not problems
    for entry in cache.glob("*.pickle"):  # a torn entry is parsed again, not trusted
        entry.write_bytes(b"not a pickle")
    again, _ = load_endpoints_isolated(folder, cache)
    assert [str(e.scrape.url) for e in again.endpoints] == ["http://127.0.0.1:10/"]


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    _write(folder, [_endpoint("a")])
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    endpoints, problems = load_endpoints_isolated(folder, blocked / "cache")
    assert [e.id for e in endpoints.endpoints] == ["a"] and not problems
