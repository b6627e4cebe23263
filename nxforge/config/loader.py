"""Load YAML safely while keeping the line of every key, then validate it with a pydantic model.

Every YAML file NxForge reads from a person (config files, the ops editor's text, a ZIP's
manifest) comes through :func:`load_yaml`, which refuses what a config file never needs and a
hostile file uses: more than ``MAX_YAML_BYTES``, aliases (a 300-byte alias bomb expands to
gigabytes), nesting deeper than ``MAX_DEPTH``, duplicate keys (the last would win silently),
bytes that are not UTF-8 and values that cannot exist (``2026-02-30``). Each ends as a
``ConfigError`` saying file:line: what is wrong, never a traceback.

libyaml (C, in every PyYAML wheel) scans and parses; composing and constructing stay in Python so they can be checked
(about three times faster than PyYAML's pure-Python loader). The composed node tree is walked
once to map each field path to its line, so a validation error can say
``endpoints.yaml:14: endpoints.3.url``.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml._yaml import CParser
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from nxforge.config.errors import ConfigError, ConfigProblem

Model = TypeVar("Model", bound=BaseModel)
FieldPath = tuple[str | int, ...]

MAX_YAML_BYTES = 1024 * 1024
MAX_DEPTH = 40
MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """One thing the safe loader will not accept, with where it is."""

    def __init__(self, line: int | None, message: str, node: yaml.Node | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.node = node


@dataclass
class LoadedYaml:
    """A YAML document with the line (1-based) where each field path starts."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, location: FieldPath) -> int | None:
        """The line of the deepest key of ``location`` in the file (a missing key points at its parent).

        Parts that are no key of the file are stepped over: pydantic puts a tagged union's tag in
        the path (``auth.redfish_session.session_url``), and the line is that of ``session_url``.
        """
        path: FieldPath = ()
        line = self.lines.get(path)
        for part in location:
            if (*path, part) in self.lines:
                path = (*path, part)
                line = self.lines[path]
        return line


class _SafeConfigLoader(Composer, CParser, SafeConstructor, Resolver):
    """PyYAML's safe loader with aliases refused, depth bounded, duplicate keys and bad values reported."""

    def __init__(self, source: str) -> None:
        CParser.__init__(self, source)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Refuse an alias where it appears and a node nested deeper than MAX_DEPTH."""
        event = self.peek_event()
        line = _line(getattr(event, "start_mark", None))
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                line,
                f"YAML aliases (*{event.anchor}) are not allowed in config files: write the value out "
                "(or use a vendor preset for what many endpoints share)",
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(line, f"nested deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Turn a value that cannot exist (``2026-02-30``, ``!!int x``) into a problem at its line."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            shown = node.value if isinstance(node, yaml.ScalarNode) else node.tag
            shown = shown if len(shown) <= 40 else f"{shown[:30]}... ({len(shown)} characters)"
            reason = str(exc) if len(str(exc)) <= 120 else f"{str(exc)[:110]}..."
            raise _Refused(node.start_mark.line + 1, f"{shown!r} is not a valid {kind}: {reason}", node) from exc

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A key given twice is an error at the second one, not a silent override."""
        first_line: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                seen = first_line.get(key)
            except TypeError:
                continue  # unhashable: the base class reports it with its mark
            if seen is not None:
                raise _Refused(
                    key_node.start_mark.line + 1,
                    f"duplicate key {key!r} (first at line {seen}): the second would silently replace "
                    "the first; keep one",
                    node,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def _line(mark: Any) -> int | None:
    """The 1-based line of a PyYAML mark, None when there is none."""
    return int(mark.line) + 1 if mark is not None else None


def _record_lines(
    node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int], paths: dict[int, FieldPath]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    paths[id(node)] = path
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines, paths)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines, paths)


def _too_big(path: Path, size: int) -> ConfigError:
    return ConfigError([ConfigProblem(
        path, None, "",
        f"the file is {size:,} bytes; a YAML file may hold at most {MAX_YAML_BYTES:,} (1 MiB): "
        "split it into several files",
    )])


def read_yaml_bytes(path: Path) -> bytes:
    """The file's bytes, refusing (before reading it all) a file over MAX_YAML_BYTES, and anything but a
    regular file: a FIFO named ``*.yaml`` would otherwise make ``config check`` or a page wait forever
    for a writer (opened without blocking, then checked on the open descriptor)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ConfigError([ConfigProblem(path, None, "", "not a regular file (a folder, FIFO, socket or device); "
                                         "nothing in it is read: remove it or rename it without .yaml")])
    with os.fdopen(descriptor, "rb") as handle:
        raw = handle.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            size = max(path.stat().st_size, len(raw))
            raise _too_big(path, size)
    return raw


def decode_yaml(path: Path, raw: bytes) -> str:
    """UTF-8 text (a leading BOM dropped); an invalid byte is a problem at its line."""
    if len(raw) > MAX_YAML_BYTES:
        raise _too_big(path, len(raw))
    try:
        return raw.decode("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        message = (
            f"invalid UTF-8 byte 0x{raw[exc.start]:02x} at column {exc.start - line_start + 1}: "
            "save the file as UTF-8"
        )
        raise ConfigError([ConfigProblem(path, line, "", message)]) from exc


def _line_of_position(source: str, position: int | None) -> int | None:
    return source.count("\n", 0, position) + 1 if position is not None else None


def _yaml_error_problem(path: Path, source: str, exc: yaml.YAMLError) -> ConfigProblem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        if exc.context and "constructing" not in exc.context:
            problem = f"{problem} ({exc.context})"
        return ConfigProblem(path, line, "", f"invalid YAML: {problem}")
    if isinstance(exc, yaml.reader.ReaderError):
        line = _line_of_position(source, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return ConfigProblem(path, line, "", f"invalid YAML: control character U+{code:04X} is not allowed")
    return ConfigProblem(path, None, "", f"invalid YAML: {exc}")


def load_yaml(path: Path, text: str | bytes | None = None) -> LoadedYaml:
    """Parse one file (or ``text`` given for it) safely; every refusal is a ConfigError at file:line."""
    if text is None:
        text = read_yaml_bytes(path)
    if isinstance(text, bytes):
        text = decode_yaml(path, text)
    elif len(text) > MAX_YAML_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise _too_big(path, len(text.encode("utf-8", "surrogatepass")))
    lines: dict[FieldPath, int] = {}
    paths: dict[int, FieldPath] = {}
    loader: _SafeConfigLoader | None = None
    try:
        loader = _SafeConfigLoader(text)
        node = loader.get_single_node()
        if node is not None:
            _record_lines(node, (), lines, paths)
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        location = paths.get(id(exc.node), ()) if exc.node is not None else ()
        field_path = ".".join(str(part) for part in location)
        raise ConfigError([ConfigProblem(path, exc.line, field_path, exc.message)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_error_problem(path, text, exc)]) from exc
    except UnicodeEncodeError as exc:  # text handed in with a lone surrogate
        line = _line_of_position(text, exc.start)
        raise ConfigError([ConfigProblem(path, line, "", "invalid YAML: a character that is not Unicode")]) from None
    except (UnicodeError, RecursionError, MemoryError) as exc:
        raise ConfigError([ConfigProblem(path, None, "", f"invalid YAML: {type(exc).__name__}: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return LoadedYaml(path=path, data=data if data is not None else {}, lines=lines)


def problems_from_validation(loaded: LoadedYaml, error: ValidationError) -> list[ConfigProblem]:
    """Turn pydantic's errors into problems that carry the YAML line of each field."""
    problems = []
    for item in error.errors():
        location = tuple(part for part in item["loc"] if not (isinstance(part, str) and "[" in part))
        field_path = ".".join(str(part) for part in location)
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field (check its spelling or remove it)"
        elif item["type"] == "missing":
            message = "required field is missing"
        problems.append(ConfigProblem(loaded.path, loaded.line_of(location), field_path, message))
    return problems


def validate_loaded(loaded: LoadedYaml, model: type[Model]) -> Model:
    """Validate parsed YAML against ``model``; every problem is reported, not just the first."""
    try:
        return model.model_validate(loaded.data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(loaded, exc)) from exc


def validate_file(path: Path, model: type[Model]) -> Model:
    """Load and validate one file in a single call."""
    return validate_loaded(load_yaml(path), model)
