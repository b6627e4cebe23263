"""The endpoints the collect job reads when some of the YAML is broken: a bad file or endpoint costs only itself.

``config.load_endpoints`` refuses the whole folder on the first problem (the editor and ``nxforge
config check`` want that). The collector cannot: one typo would stop every meter. Here each file
is parsed on its own, and when a file does not validate as a whole each client and endpoint in it
is validated on its own, so every valid endpoint is still read. What is refused is returned as
problems (file:line: field: message) for the job's summary, its events and the exit status.

The rules are the same as ``load_endpoints``': an endpoint refused here is refused there too, plus
an endpoint id defined twice is read from neither place (which device is it?), where the strict
loader keeps the first.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from nxforge.sdk import ConfigError, ConfigProblem, LoadedYaml, load_yaml, validate_loaded

from .config import Endpoint, EndpointSet, EndpointsFile
from .parse_cache import ParseCache

FieldPath = tuple[str | int, ...]
MAX_CACHED_BYTES = 1024 * 1024  # the YAML loader's own limit


def _shifted(loaded: LoadedYaml, section: str, index: int, item: Any) -> LoadedYaml:
    """A one-item document for ``section[index]`` whose lines are the original file's."""
    prefix: FieldPath = (section, index)
    lines = {(section, 0, *key[2:]): line for key, line in loaded.lines.items() if key[:2] == prefix}
    lines[(section,)] = loaded.lines.get((section,), 1)
    return LoadedYaml(path=loaded.path, data={section: [item]}, lines=lines)


def _renumbered(problem: ConfigProblem, section: str, index: int) -> ConfigProblem:
    """Put the item's real index back into a problem found on its one-item document."""
    head = f"{section}.0"
    if problem.field == head or problem.field.startswith(head + "."):
        return dataclasses.replace(problem, field=f"{section}.{index}" + problem.field[len(head):])
    return problem


def _items_one_by_one(loaded: LoadedYaml) -> tuple[EndpointsFile, list[ConfigProblem]]:
    """Validate each client and endpoint of a file that does not validate as a whole; keep the valid ones."""
    data = loaded.data
    if not isinstance(data, dict):
        return EndpointsFile(), [ConfigProblem(loaded.path, 1, "", "the file must be a mapping with endpoints: "
                                               "and clients:; nothing in it is read")]
    problems: list[ConfigProblem] = []
    unknown = sorted(str(key) for key in data if key not in ("endpoints", "clients"))
    for key in unknown:
        problems.append(ConfigProblem(loaded.path, loaded.line_of((key,)), key,
                                      "unknown field (check its spelling or remove it)"))
    kept: dict[str, list[Any]] = {"endpoints": [], "clients": []}
    for section in ("clients", "endpoints"):  # each item through EndpointsFile: its rules apply unchanged
        items = data.get(section) or []
        if not isinstance(items, list):
            problems.append(ConfigProblem(loaded.path, loaded.line_of((section,)), section, "must be a list"))
            continue
        for index, item in enumerate(items):
            try:
                parsed = validate_loaded(_shifted(loaded, section, index, item), EndpointsFile)
            except ConfigError as exc:
                problems += [_renumbered(problem, section, index) for problem in exc.problems]
                continue
            kept[section].append(getattr(parsed, section)[0])
    return EndpointsFile(endpoints=kept["endpoints"], clients=kept["clients"]), problems


def _parse_file(path: Path, cache: ParseCache | None = None
                ) -> tuple[EndpointsFile, LoadedYaml | None, list[ConfigProblem]]:
    """One file: everything in it, or its valid items and the problems of the rest."""
    if not path.is_file():  # a folder, a FIFO (reading it would wait forever), a device, a dangling link
        return EndpointsFile(), None, [ConfigProblem(path, None, "", "not a regular file; nothing in it is read")]
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CACHED_BYTES + 1)
    except OSError as exc:
        return EndpointsFile(), None, [ConfigProblem(path, None, "", f"cannot read the file: {exc.strerror or exc}")]
    if len(raw) > MAX_CACHED_BYTES:
        cache = None  # the loader reads it again and says why it is refused
    cached = cache.get(path, raw) if cache is not None else None
    if cached is not None:
        return cached
    try:
        loaded = load_yaml(path, raw if cache is not None else None)
    except ConfigError as exc:
        return EndpointsFile(), None, list(exc.problems)
    except OSError as exc:
        return EndpointsFile(), None, [ConfigProblem(path, None, "", f"cannot read the file: {exc.strerror or exc}")]
    try:
        parsed: tuple[EndpointsFile, LoadedYaml | None, list[ConfigProblem]] = (
            validate_loaded(loaded, EndpointsFile), loaded, [])
    except ConfigError:
        file, problems = _items_one_by_one(loaded)
        parsed = (file, loaded, problems)
    if cache is not None:
        cache.put(path, raw, parsed)
    return parsed


def _line(loaded: LoadedYaml | None, location: FieldPath) -> int | None:
    return loaded.line_of(location) if loaded is not None else None


def load_endpoints_isolated(folder: Path, cache_dir: Path | None = None) -> tuple[EndpointSet, list[ConfigProblem]]:
    """Every valid endpoint of every file in ``folder``, and the problems of what was left out.

    ``cache_dir`` (the collector's): files whose bytes were parsed before by the same code are not parsed again.
    """
    cache = ParseCache(cache_dir) if cache_dir is not None else None
    result = EndpointSet()
    problems: list[ConfigProblem] = []
    files: list[tuple[Path, EndpointsFile, LoadedYaml | None]] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        parsed, loaded, file_problems = _parse_file(path, cache)
        problems += file_problems
        files.append((path, parsed, loaded))
        if loaded is not None:
            result.files.append(path)
        for index, client in enumerate(parsed.clients):
            if client.name in result.clients:
                problems.append(ConfigProblem(path, _line(loaded, ("clients", index, "name")), f"clients.{index}.name",
                                              f"client {client.name!r} twice"))
                continue
            result.clients[client.name] = client
    places: dict[str, list[tuple[Path, int | None, str, Endpoint]]] = {}
    for path, parsed, loaded in files:
        for index, item in enumerate(parsed.endpoints):
            places.setdefault(item.id, []).append((path, _line(loaded, ("endpoints", index, "id")),
                                                   f"endpoints.{index}.id", item))
    declared = set(result.clients)
    known = ", ".join(sorted(declared)) or "none"
    for endpoint_id, found in places.items():
        if len(found) > 1:
            where = ", ".join(f"{path}:{line}" for path, line, _, _ in found)
            message = f"duplicate endpoint id {endpoint_id!r} (at {where}); neither is read until one is renamed"
            problems += [ConfigProblem(path, line, field, message) for path, line, field, _ in found]
            continue
        path, line, field, item = found[0]
        clients = [item.client, *(period.client for period in item.client_history)]
        missing = [client for client in clients if client not in declared]
        if missing:
            problems.append(ConfigProblem(path, line, field.removesuffix(".id") + ".client",
                                          f"client {missing[0]!r} is not declared under clients: (declared: {known}); "
                                          "fix the spelling or add it with its tariff"))
            continue
        result.source[endpoint_id] = (path, line)
        result.endpoints.append(item)
    return result, problems
