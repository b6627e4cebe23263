"""Load YAML while keeping the line of every key, then validate it with a pydantic model.

PyYAML's composer already records a mark on every node; we walk the node tree once to map each
field path to its line, so a validation error can say ``endpoints.yaml:14: endpoints.3.url``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from nxforge.config.errors import ConfigError, ConfigProblem

Model = TypeVar("Model", bound=BaseModel)
FieldPath = tuple[str | int, ...]


@dataclass
class LoadedYaml:
    """A YAML document with the line (1-based) where each field path starts."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, location: FieldPath) -> int | None:
        """The line of the deepest known prefix of ``location`` (a missing key points at its parent)."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return None


def _record_lines(node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines)


def load_yaml(path: Path, text: str | None = None) -> LoadedYaml:
    """Parse one YAML file; a syntax error becomes a ConfigError with the line PyYAML reports."""
    source = path.read_text(encoding="utf-8") if text is None else text
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigProblem(path, line, "", f"invalid YAML: {exc.problem or exc}")]) from exc
    lines: dict[FieldPath, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
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
