"""YAML loading keeps line numbers so every validation error points at file:line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from nxforge.config.errors import ConfigError
from nxforge.config.loader import load_yaml, validate_file
from nxforge.config.models import CoreConfig


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_core_config(tmp_path: Path) -> None:
    path = write(tmp_path / "nxforge.yaml", "timezone: Europe/Paris\nmodules:\n  enabled: [a]\n")
    config = validate_file(path, CoreConfig)
    assert config.timezone == "Europe/Paris"
    assert config.modules.enabled == ["a"]


def test_every_problem_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "nxforge.yaml",
        "site_name: Paris-1\n"
        "timezone: Mars/Olympus\n"
        "modules:\n"
        "  enabled: [a]\n"
        "  enabeld: [b]\n",
    )
    with pytest.raises(ConfigError) as caught:
        validate_file(path, CoreConfig)
    problems = {(p.line, p.field) for p in caught.value.problems}
    assert (2, "timezone") in problems
    assert (5, "modules.enabeld") in problems
    text = str(caught.value)
    assert f"{path}:5: modules.enabeld: unknown field" in text
    assert "unknown timezone 'Mars/Olympus'" in text


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "a: 1\nb: [unclosed\nc: 3\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path)
    problem = caught.value.problems[0]
    assert problem.file == path
    assert problem.line is not None and problem.line >= 2
    assert "invalid YAML" in problem.message


def test_line_of_sequence_items(tmp_path: Path) -> None:
    loaded = load_yaml(write(tmp_path / "x.yaml", "items:\n  - name: a\n  - name: b\n    url: x\n"))
    assert loaded.line_of(("items", 1, "url")) == 4
    assert loaded.line_of(("items", 1, "missing")) == 3
