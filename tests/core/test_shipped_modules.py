"""Every module shipped in ``modules/`` keeps the contract: handlers resolve, url paths unique, settings complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nxforge.module_system.discovery import discover_modules
from nxforge.module_system.loading import resolve_handler

MODULES_DIR = Path(__file__).resolve().parents[2] / "modules"
SHIPPED = discover_modules(MODULES_DIR)
CREATE_TABLE = re.compile(r"create\s+table\s+(?:if\s+not\s+exists\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def test_there_are_shipped_modules() -> None:
    assert SHIPPED, f"no module found in {MODULES_DIR}"


@pytest.mark.parametrize("info", SHIPPED, ids=lambda info: info.name)
def test_manifest_is_valid_and_every_reference_resolves(info) -> None:  # type: ignore[no-untyped-def]
    assert info.manifest is not None, info.error
    manifest = info.manifest
    references = [job.handler for job in manifest.jobs.values()]
    references += [page.handler for page in manifest.pages]
    references += [*manifest.commands.values(), *manifest.hooks.values()]
    if manifest.config:
        references.append(manifest.config.model)
    for reference in references:
        assert callable(resolve_handler(MODULES_DIR, reference)), reference
    for key, setting in manifest.settings.items():
        assert setting.label, key
        assert setting.default is not None or setting.required, key
    if manifest.table_prefix:
        for sql in info.migrations_dir.glob("*.sql"):
            for table in CREATE_TABLE.findall(sql.read_text()):
                assert table.lower().startswith(manifest.table_prefix), f"{sql.name}: table {table} has no prefix"


def test_page_url_paths_are_unique_across_modules() -> None:
    paths = [f"{info.name}-{page.name}" for info in SHIPPED if info.manifest for page in info.manifest.pages]
    assert len(paths) == len(set(paths))
