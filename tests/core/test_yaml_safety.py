"""Hostile YAML ends as file:line: message, fast and small, through every reader of YAML.

Classes (cases in each): size (5), aliases (7), depth (4), duplicate keys (7), bytes (7),
impossible values (9), and the readers that must use the safe loader (config check, the YAML
editor, a ZIP manifest, secrets.yaml).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from nxforge.config.errors import ConfigError, ConfigProblem
from nxforge.config.loader import MAX_DEPTH, MAX_YAML_BYTES, load_yaml

ROOT = Path(__file__).resolve().parents[2]
BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{level}: &{level} [{', '.join([f'*{previous}'] * 9)}]\n"
        for previous, level in zip("abcdefgh", "bcdefghi", strict=True)
    )
)


def refused(path: Path, text: str | bytes | None = None) -> ConfigProblem:
    """The one problem the loader reports; it must be quick and small, and say the file."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ConfigError) as caught:
            load_yaml(path, text)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 64 * 1024 * 1024, f"peak {peak} bytes"
    problem = caught.value.problems[0]
    assert problem.file == path
    assert "Traceback" not in str(caught.value)
    return problem


# --- size -----------------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * (MAX_YAML_BYTES // 5 + 1))  # just over 1 MiB
    assert "at most 1,048,576" in refused(big).message
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"k: v\n" * (5 * 1024 * 1024 // 5))  # the review's 5 MB file (36 s, 840 MB before)
    assert "split it" in refused(huge).message
    sparse = tmp_path / "sparse.yaml"
    with sparse.open("wb") as handle:  # 50 MB that never finished before; sparse, so the test writes nothing
        handle.truncate(50 * 1024 * 1024)
    problem = refused(sparse)
    assert "52,428,800 bytes" in problem.message


def test_text_over_the_limit_is_refused_and_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    problem = refused(tmp_path / "editor.yaml", "a: 1\n" + "#" * MAX_YAML_BYTES)
    assert "at most" in problem.message
    assert "at most" in refused(tmp_path / "wide.yaml", "a: " + "é" * (MAX_YAML_BYTES // 2 + 1)).message
    at_limit = tmp_path / "limit.yaml"
    at_limit.write_bytes(b"a: 1\n" + b"#" * (MAX_YAML_BYTES - 6) + b"\n")
    assert load_yaml(at_limit).data == {"a": 1}


# --- aliases --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (BOMB, 2),  # billion laughs, 9 levels: 2.2 GB at 7 levels before
        ("base: &b {x: 1}\nother: *b\n", 2),
        ("defaults: &d {timeout_s: 5}\nendpoint:\n  <<: *d\n  url: http://x\n", 3),  # merge key
        ("name: &n a\n*n : 1\n", 2),  # alias as a key
        ("a: &x [1]\nb: [*x, *x]\n", 2),
        ("a: [&x 1, *x]\n", 1),  # flow style
        ("endpoints:\n  - &e {id: a}\n  - *e\n", 3),  # the same endpoint twice
    ],
)
def test_aliases_are_refused_at_their_line(tmp_path: Path, text: str, line: int) -> None:
    problem = refused(tmp_path / "aliases.yaml", text)
    assert problem.line == line
    assert "aliases" in problem.message and "not allowed" in problem.message


def test_an_anchor_without_alias_is_harmless(tmp_path: Path) -> None:
    assert load_yaml(tmp_path / "a.yaml", "a: &x 1\n").data == {"a": 1}


# --- depth ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
        "a: " + "{b: " * 100_000 + "1" + "}" * 100_000 + "\n",  # deep enough to exhaust Python's stack
        "".join("  " * level + f"k{level}:\n" for level in range(MAX_DEPTH + 5)),
        "".join("  " * level + "-\n" for level in range(MAX_DEPTH + 5)),
    ],
    ids=["flow-sequences", "flow-mappings-100k", "block-mappings", "block-sequences"],
)
def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path, text: str) -> None:
    problem = refused(tmp_path / "deep.yaml", text)
    assert problem.line is not None
    assert f"nested deeper than {MAX_DEPTH}" in problem.message


def test_nesting_at_the_limit_is_read(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 1
    loaded = load_yaml(tmp_path / "ok.yaml", "a: " + "[" * depth + "]" * depth + "\n")
    assert "a" in loaded.data


# --- duplicate keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "field", "key"),
    [
        # the review's case: a second url: made it read another device
        ("endpoints:\n  - id: pdu-1\n    url: http://10.0.0.1/\n    scrape: {}\n    url: http://10.0.0.2/\n",
         5, "endpoints.0", "'url'"),
        ("timezone: UTC\nsite_name: a\ntimezone: Europe/Paris\n", 3, "", "'timezone'"),
        ("a: {x: 1, y: 2, x: 3}\n", 1, "a", "'x'"),
        ("a:\n  b:\n    c: 1\n    c: 1\n", 4, "a.b", "'c'"),  # same value twice is still a mistake
        ("yes: 1\ntrue: 2\n", 2, "", "True"),  # two spellings of one key
        ("1: a\n0x1: b\n", 2, "", "1"),
        ("modules:\n  enabled: [a]\n  settings: {}\n  enabled: [b]\n", 4, "modules", "'enabled'"),
    ],
)
def test_duplicate_keys_are_errors_at_the_second_key(
    tmp_path: Path, text: str, line: int, field: str, key: str
) -> None:
    path = tmp_path / "dup.yaml"
    problem = refused(path, text)
    assert (problem.line, problem.field) == (line, field)
    assert f"duplicate key {key}" in problem.message
    assert str(problem).startswith(f"{path}:{line}:")


def test_different_keys_that_look_alike_are_not_duplicates(tmp_path: Path) -> None:
    assert load_yaml(tmp_path / "k.yaml", "1: a\n'1': b\nA: c\na: d\n").data == {1: "a", "1": "b", "A": "c", "a": "d"}


# --- bytes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "line", "expected"),
    [
        (b"a: 1\nname: caf\xe9\n", 2, "invalid UTF-8 byte 0xe9 at column 10"),  # Latin-1
        (b"a: 1\nb: 2\nc: \xff\xfe\n", 3, "invalid UTF-8 byte 0xff"),
        (b"\xff\xfea\x00:\x00 \x001\x00\n\x00", 1, "invalid UTF-8 byte 0xff"),  # UTF-16 with its BOM
        (b"a: 1\nb: \xc0\xaf\n", 2, "invalid UTF-8 byte 0xc0"),  # overlong encoding
        (b"a: 1\nb: \xe2\x82", 2, "invalid UTF-8 byte 0xe2"),  # cut in the middle of a character
        (b"a: 1\nb: x\x00y\n", 2, "control character U+0000"),
        (b"a: 1\n\nb: \x07\n", 3, "control character U+0007"),
    ],
)
def test_bytes_that_are_not_utf8_text_are_reported_at_their_line(
    tmp_path: Path, raw: bytes, line: int, expected: str
) -> None:
    path = tmp_path / "bytes.yaml"
    path.write_bytes(raw)
    problem = refused(path)
    assert problem.line == line
    assert expected in problem.message


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: caf\xc3\xa9\n")
    assert load_yaml(path).data == {"name": "café"}


# --- impossible values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("since: 2026-02-28\nuntil: 2026-02-30\n", 2, "'2026-02-30' is not a valid timestamp"),
        ("a: 2026-13-01\n", 1, "not a valid timestamp: month must be in 1..12"),
        ("a: 2026-01-01 25:00:00\n", 1, "not a valid timestamp"),
        ("a: !!int twelve\n", 1, "'twelve' is not a valid int"),
        ("a: !!float nope\n", 1, "'nope' is not a valid float"),
        ("a: " + "9" * 5000 + "\n", 1, "(5000 characters)' is not a valid int"),
        ("a: !!python/object/apply:os.system ['true']\n", 1, "could not determine a constructor"),
        ("a: !vendor 1\n", 1, "could not determine a constructor for the tag '!vendor'"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
    ],
)
def test_values_that_cannot_exist_are_reported_at_their_line(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    problem = refused(tmp_path / "values.yaml", text)
    assert problem.line == line
    assert expected in problem.message


def test_a_lone_surrogate_in_editor_text_is_a_problem(tmp_path: Path) -> None:
    problem = refused(tmp_path / "editor.yaml", "a: 1\nb: \ud800\n")
    assert problem.line == 2


# --- every reader of YAML goes through the loader -------------------------------------------------


def test_config_check_reports_each_hostile_file_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    endpoints = config / "consumption-monitor"
    endpoints.mkdir(parents=True)
    (config / "nxforge.yaml").write_text(
        "timezone: UTC\nmodules:\n  enabled: [consumption-monitor]\n  enabled: []\n", encoding="utf-8"
    )
    (endpoints / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    (endpoints / "latin1.yaml").write_bytes(b"endpoints:\n  - id: caf\xe9\n")
    (endpoints / "date.yaml").write_text("endpoints:\n  - id: a\n    since: 2026-02-30\n", encoding="utf-8")
    (endpoints / "deep.yaml").write_text("endpoints: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    (endpoints / "big.yaml").write_bytes(b"#" * (MAX_YAML_BYTES + 1))
    environ = {**os.environ, "NXFORGE_CONFIG_DIR": str(config), "NXFORGE_DATA_DIR": str(tmp_path / "data"),
               "NXFORGE_MODULES_DIR": str(ROOT / "modules")}
    environ.pop("NXFORGE_DATABASE_URL", None)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "nxforge.cli", "config", "check"], cwd=tmp_path, env=environ,
                            capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 60
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    assert result.returncode == 2
    out = result.stdout
    assert f"{config / 'nxforge.yaml'}:4: modules: duplicate key 'enabled'" in out
    assert f"{endpoints / 'bomb.yaml'}:2: YAML aliases" in out
    assert f"{endpoints / 'latin1.yaml'}:2: invalid UTF-8 byte 0xe9" in out
    assert f"{endpoints / 'date.yaml'}:3: endpoints.0.since: '2026-02-30' is not a valid timestamp" in out
    assert f"{endpoints / 'deep.yaml'}:1: nested deeper than" in out
    assert f"{endpoints / 'big.yaml'}: the file is 1,048,577 bytes" in out


def test_the_yaml_editor_validates_through_the_loader(tmp_path: Path) -> None:
    from nxforge.module_system.loading import mount_modules

    mount_modules(ROOT / "modules")
    from nxforge_modules.consumption_monitor.pages._endpoint_yaml import (  # type: ignore[import-not-found]
        DraftError,
        YamlDocument,
        parse_snippet,
    )

    for snippet, line, expected in [
        (BOMB, 2, "aliases"),
        ("id: a\nurl: http://x\nurl: http://y\n", 3, "duplicate key 'url'"),
        ("id: a\nsince: 2026-02-30\n", 2, "not a valid timestamp"),
        ("id: a\nx: " + "[" * 200 + "]" * 200 + "\n", 2, "nested deeper"),
    ]:
        with pytest.raises(DraftError) as caught:
            parse_snippet(snippet, "a")
        assert caught.value.line == line and expected in str(caught.value)
    path = tmp_path / "endpoints.yaml"
    path.write_bytes(b"endpoints:\n  - id: caf\xe9\n")
    with pytest.raises(DraftError) as caught:
        YamlDocument.load(path)
    assert caught.value.line == 2 and "invalid UTF-8" in str(caught.value)
    path.write_text("# kept\nendpoints:\n  - id: a\n    url: http://x\n", encoding="utf-8")
    assert YamlDocument.load(path).index_of("a") == 0


def test_secrets_yaml_is_read_through_the_loader(tmp_path: Path) -> None:
    from nxforge.secrets import SecretStore

    secrets_file = tmp_path / "secrets.yaml"
    for text, line, expected in [
        (BOMB, 2, "aliases"),
        ("PDU_PASSWORD: a\nOTHER: b\nPDU_PASSWORD: c\n", 3, "duplicate key 'PDU_PASSWORD'"),
    ]:
        secrets_file.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            SecretStore(secrets_file, environ={})
        assert caught.value.problems[0].line == line and expected in str(caught.value)
    secrets_file.write_bytes(b"PDU_PASSWORD: caf\xe9\n")
    with pytest.raises(ConfigError, match="invalid UTF-8"):
        SecretStore(secrets_file, environ={})


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (BOMB.encode(), "manifest.yaml:2: YAML aliases"),
        (b"name: greeter\nversion: 1.0.0\nname: other\n", "manifest.yaml:3: duplicate key 'name'"),
        (b"name: greeter\ndescription: caf\xe9\n", "manifest.yaml:2: invalid UTF-8 byte 0xe9"),
        (b"name: " + b"[" * 300 + b"]" * 300 + b"\n", "manifest.yaml:1: nested deeper"),
        (b"#" * (MAX_YAML_BYTES + 10), "at most 1,048,576"),
    ],
    ids=["alias-bomb", "duplicate-key", "latin1", "deep", "oversized"],
)
def test_a_zip_manifest_is_read_through_the_loader(tmp_path: Path, manifest: bytes, expected: str) -> None:
    import zipfile
    from typing import Any, cast

    from nxforge.module_admin.install import install_zip
    from nxforge.module_admin.lifecycle import LifecycleError

    archive = tmp_path / "greeter.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("greeter/manifest.yaml", manifest)
        out.writestr("greeter/__init__.py", b"")
    started = time.monotonic()
    with pytest.raises(LifecycleError) as caught:
        install_zip(cast(Any, None), archive, "tester")  # refused before the platform is consulted
    assert time.monotonic() - started < 5
    assert "invalid manifest" in str(caught.value) and expected in str(caught.value)


def test_the_collector_s_endpoint_files_go_through_the_loader(tmp_path: Path) -> None:
    from nxforge.module_system.loading import mount_modules

    mount_modules(ROOT / "modules")
    from nxforge_modules.consumption_monitor.config import load_endpoints  # type: ignore[import-not-found]

    (tmp_path / "latin1.yaml").write_bytes(b"endpoints:\n  - id: caf\xe9\n")
    (tmp_path / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    (tmp_path / "dup.yaml").write_text("endpoints: []\nendpoints: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_endpoints(tmp_path)
    found = {(problem.file.name, problem.line) for problem in caught.value.problems}
    assert {("latin1.yaml", 2), ("bomb.yaml", 2), ("dup.yaml", 2)} <= found


def test_comment_keeping_writers_check_the_file_with_the_loader_first(tmp_path: Path) -> None:
    from nxforge.auth.users import UserStore
    from nxforge.module_system.enabled_file import set_module_enabled

    users = tmp_path / "users.yaml"
    users.write_text("users:\n" + "\n".join("  " + line for line in BOMB.splitlines()) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="aliases"):
        UserStore(users, rounds=4).set_role("a", "admin")
    core = tmp_path / "nxforge.yaml"
    core.write_text("modules:\n  enabled: [a]\n  enabled: [b]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        set_module_enabled(core, "c", True)
    assert caught.value.problems[0].line == 3
    assert core.read_text(encoding="utf-8").count("enabled") == 2  # left as it was


def test_a_hostile_manifest_costs_only_its_module(tmp_path: Path) -> None:
    from nxforge.module_system.discovery import discover_modules

    hostile = {
        "bomb": BOMB.encode(),
        "latin1": b"name: caf\xe9\n",
        "dup": b"name: dup\nname: other\n",
        "deep": b"name: " + b"[" * 300 + b"]" * 300 + b"\n",
        "huge": b"#" * (MAX_YAML_BYTES + 1),
    }
    for package, manifest in hostile.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "manifest.yaml").write_bytes(manifest)
    (tmp_path / "fine").mkdir()
    (tmp_path / "fine" / "manifest.yaml").write_text(
        "name: fine\nversion: 1.0.0\ndisplay_name: Fine\npackage: fine\ndescription: x\nauthor: x\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    found = {info.folder.name: info for info in discover_modules(tmp_path)}
    assert time.monotonic() - started < 10
    assert found["fine"].error is None, found["fine"].error
    for package in hostile:
        assert found[package].manifest is None and "manifest.yaml" in (found[package].error or "")
