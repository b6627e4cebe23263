"""The committed JSON Schemas match the models, are valid, and accept the files we ship.

Editors trust these schemas to underline mistakes, so a stale or over-strict schema would teach
people to ignore the underlines: the schemas must say exactly what the models accept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from nxforge.module_system.enabled_file import set_module_enabled
from nxforge.schemas import SUFFIX, all_schemas, differences, main, render

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
MODULES = ROOT / "modules"
REGENERATE = "run `nxforge schema` (or `python -m nxforge.schemas`) and commit schemas/"


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / f"{name}{SUFFIX}").read_text(encoding="utf-8")))


def errors(name: str, data: Any) -> list[str]:
    """Schema errors, seeing the data as an editor does (YAML 1.2: an unquoted date is a string)."""
    as_editor_sees_it = json.loads(json.dumps(data, default=str))
    return [error.message for error in validator(name).iter_errors(as_editor_sees_it)]


def test_committed_schemas_match_the_models() -> None:
    assert differences(MODULES, SCHEMAS) == [], REGENERATE


def test_every_schema_is_valid_json_schema() -> None:
    for name, schema in all_schemas(MODULES).items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"].endswith("2020-12/schema"), name


def test_check_mode_reports_a_drifted_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NXFORGE_MODULES_DIR", str(MODULES))
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / f"users{SUFFIX}").write_text(render({"title": "old"}), encoding="utf-8")
    (tmp_path / f"gone{SUFFIX}").write_text("{}\n", encoding="utf-8")
    assert main(["--check", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize("name", ["nxforge", "users"])
def test_shipped_core_configs_validate(name: str) -> None:
    path = ROOT / "config" / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    assert errors(name, yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_shipped_manifests_validate() -> None:
    manifests = sorted(MODULES.glob("*/manifest.yaml"))
    assert manifests
    for path in manifests:
        assert errors("manifest", yaml.safe_load(path.read_text(encoding="utf-8"))) == [], path


def test_nxforge_yaml_points_editors_at_its_schema_and_keeps_the_line(tmp_path: Path) -> None:
    first = (ROOT / "config" / "nxforge.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/nxforge.schema.json"
    assert (ROOT / "config" / first.split("$schema=")[1]).resolve() == SCHEMAS / f"nxforge{SUFFIX}"
    copy = tmp_path / "nxforge.yaml"
    copy.write_text((ROOT / "config" / "nxforge.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    set_module_enabled(copy, "consumption-monitor", True)
    assert copy.read_text(encoding="utf-8").splitlines()[0] == first


def test_a_preset_fills_values_and_auth_but_a_bare_config_needs_values() -> None:
    def endpoint(scrape: dict[str, Any]) -> dict[str, Any]:
        return {"endpoints": [{"id": "pdu-a1", "name": "PDU A1", "client": "acme", "scrape": scrape}]}

    with_preset = {"preset": "apc-nmc2", "url": "http://10.0.0.5/", "auth": {"password": "${APC_PASSWORD}"}}
    assert errors("consumption-monitor", endpoint(with_preset)) == []
    bare = {"url": "http://10.0.0.5/", "engine": "http"}
    assert any("values" in message for message in errors("consumption-monitor", endpoint(bare)))
    unknown_preset = {**with_preset, "preset": "apc-nmc9"}
    assert errors("consumption-monitor", endpoint(unknown_preset))
    typo = {"url": "http://10.0.0.5/", "valeus": {}, "values": {"kwh": {"selector": "#kwh"}}}
    assert any("valeus" in message for message in errors("consumption-monitor", endpoint(typo)))


def test_module_settings_are_typed_from_the_manifests() -> None:
    good = {"modules": {"settings": {"consumption-monitor": {"default_poll_interval": "5m"}}}}
    assert errors("nxforge", good) == []
    bad = {"modules": {"settings": {"consumption-monitor": {"default_poll_interval": "soon"}}}}
    assert errors("nxforge", bad)
    assert errors("nxforge", {"modules": {"settings": {"some-zip-module": {"anything": 1}}}}) == []


def test_example_configs_validate() -> None:
    examples = [path for path in sorted((ROOT / "docs" / "examples").glob("*.yaml"))
                if (SCHEMAS / f"{path.stem}{SUFFIX}").exists()]
    for path in examples:
        assert errors(path.stem, yaml.safe_load(path.read_text(encoding="utf-8"))) == [], path
