"""The manifest validates, and its job, command and config-model handlers resolve."""

from __future__ import annotations

from nxforge.module_system.discovery import read_module
from nxforge.module_system.loading import resolve_handler
from tests.modules.conftest import MODULES_DIR


def test_manifest_and_handlers_resolve() -> None:
    info = read_module(MODULES_DIR / "consumption_monitor")
    assert info.manifest is not None, info.error
    manifest = info.manifest
    assert manifest.name == "consumption-monitor" and manifest.table_prefix == "cm_"
    assert manifest.jobs["collect"].concurrent and manifest.jobs["collect"].parsed_schedule is not None
    handlers = [job.handler for job in manifest.jobs.values()] + list(manifest.commands.values())
    assert manifest.config is not None
    handlers.append(manifest.config.model)
    for handler in handlers:
        assert callable(resolve_handler(MODULES_DIR, handler)), handler
    assert {page.name: set(page.roles) for page in manifest.pages} == {
        "live": {"viewer", "finance", "ops", "admin", "client"},
        "history": {"viewer", "finance", "ops", "admin", "client"},
        "reports": {"finance", "admin", "client"}, "endpoints": {"ops", "admin"},
        "energy": {"viewer", "finance", "ops", "admin", "client"},
        "power": {"viewer", "finance", "ops", "admin", "client"}}  # client: its own endpoints only (#13)
    assert all(spec.label and (spec.default is not None or spec.required) for spec in manifest.settings.values())
