"""The navigation plan: which pages each role may open, URL paths, duplicates, defaults."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nxforge.app.core_pages import resolve_core_handler
from nxforge.app.navigation import default_url_path, plan_navigation
from nxforge.app.registry import CORE_PAGES
from nxforge.environment import Environment
from nxforge.module_system.loading import HandlerError
from nxforge.platform import Platform
from tests.app.conftest import ROOT, copy_app_fixture_module, write_core_config
from tests.conftest import copy_fixture_module

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def platform(nx_env: Environment) -> Iterator[Platform]:
    copy_fixture_module(nx_env, "hello_module")
    copy_fixture_module(nx_env, "needs_hello")
    write_core_config(nx_env, ["hello-module", "needs-hello"])
    created = Platform(nx_env)
    yield created
    created.close()


def test_core_pages_resolve_and_declare_roles() -> None:
    for spec in CORE_PAGES:
        assert callable(resolve_core_handler(ROOT / "core_pages", spec.handler)), spec.handler
    assert {spec.name for spec in CORE_PAGES} == {"overview", "modules", "executions", "events", "audit", "users"}


def test_core_pages_load_by_file_path_under_their_own_names() -> None:
    render = resolve_core_handler(ROOT / "core_pages", "overview:render")
    assert render.__module__ == "nxforge_pages.overview"
    assert "core_pages" not in sys.modules and "overview" not in sys.modules
    assert str(ROOT / "core_pages") not in sys.path


def test_a_core_page_that_does_not_resolve_says_which(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('broken on import')\n")
    with pytest.raises(HandlerError, match="no core page file"):
        resolve_core_handler(tmp_path, "missing:render")
    with pytest.raises(HandlerError, match="RuntimeError: broken on import"):
        resolve_core_handler(tmp_path, "broken:render")
    with pytest.raises(HandlerError, match="has no 'nope'"):
        resolve_core_handler(ROOT / "core_pages", "overview:nope")


@SQLITE
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("viewer", ["hello-module-greetings", "overview"]),
        ("finance", ["overview"]),
        ("ops", ["overview", "executions", "events", "audit"]),
        ("admin", ["hello-module-greetings", "overview", "executions", "events", "audit", "modules", "users"]),
    ],
)
def test_each_role_gets_only_its_pages(platform: Platform, role: str, expected: list[str]) -> None:
    plan = plan_navigation(platform, role)
    assert plan.url_paths == expected
    assert not plan.problems


@SQLITE
def test_sections_are_module_display_names_then_core(platform: Platform) -> None:
    plan = plan_navigation(platform, "admin")
    assert list(plan.sections()) == ["Hello Module", "NxForge"]
    assert default_url_path(plan) == "overview"


@SQLITE
def test_disabled_module_contributes_no_page(platform: Platform) -> None:
    write_core_config(platform.env, [])
    platform.reload()
    assert "hello-module-greetings" not in plan_navigation(platform, "admin").url_paths


@SQLITE
def test_duplicate_url_path_is_reported_with_the_module_name(platform: Platform) -> None:
    copy_app_fixture_module(platform.env, "hello")
    write_core_config(platform.env, ["hello-module", "hello"])
    platform.reload()
    plan = plan_navigation(platform, "admin")
    assert plan.url_paths.count("hello-module-greetings") == 1
    assert len(plan.problems) == 1
    assert plan.problems[0].startswith("module 'hello': page 'module-greetings' would have URL path")
    assert "hello-module" in plan.problems[0]


def test_core_pages_hold_declared_pages_only_and_no_pages_folder_sits_beside_the_entry_point() -> None:
    # Streamlit serves the files of a pages/ folder beside the entry point by URL until st.navigation runs
    # (see nxforge/app/core_pages.py): there is none, and core_pages/ holds the declared pages only.
    assert (ROOT / "streamlit_app.py").is_file()
    assert not (ROOT / "pages").exists()
    declared = {spec.handler.partition(":")[0] for spec in CORE_PAGES}
    assert {path.stem for path in (ROOT / "core_pages").glob("*.py")} == declared


@SQLITE
def test_module_page_marked_default_wins(platform: Platform, tmp_path: Path) -> None:
    manifest = platform.env.modules_dir / "hello_module" / "manifest.yaml"
    manifest.write_text(
        manifest.read_text().replace("roles: [viewer, admin]", "roles: [viewer, admin]\n    default: true")
    )
    platform.reload()
    assert default_url_path(plan_navigation(platform, "viewer")) == "hello-module-greetings"
    assert default_url_path(plan_navigation(platform, "finance")) == "overview"
