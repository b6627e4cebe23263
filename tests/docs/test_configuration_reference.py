"""docs/configuration.md is exactly what nxforge.docs_gen renders from the committed schemas."""

from __future__ import annotations

from pathlib import Path

from nxforge.docs_gen import APPENDIX, load_schemas, main, render_reference

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def test_committed_reference_matches_the_schemas() -> None:
    expected = render_reference(load_schemas(ROOT / "schemas"), (ROOT / APPENDIX).read_text(encoding="utf-8"))
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/configuration.md is out of date: run `nxforge schema` then `python -m nxforge.docs_gen`"
    )


def test_every_file_and_shared_block_has_a_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in ("## `config/nxforge.yaml`", "## `config/users.yaml`", "## `modules/<package>/manifest.yaml`",
                    "## `config/consumption-monitor/*.yaml`", "### ScrapeConfig"):
        assert heading in text
    assert "](#scrapeconfig)" in text


def test_check_mode(tmp_path: Path) -> None:
    out = tmp_path / "configuration.md"
    schemas = str(ROOT / "schemas")
    appendix = ["--appendix", str(ROOT / APPENDIX)]
    assert main(["--schemas", schemas, "--out", str(out), "--check", *appendix]) == 1
    assert main(["--schemas", schemas, "--out", str(out), *appendix]) == 0
    assert main(["--schemas", schemas, "--out", str(out), "--check", *appendix]) == 0
    assert "## Engines: SNMP, Modbus TCP, Redfish" in out.read_text(encoding="utf-8")
