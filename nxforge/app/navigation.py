"""Build the page list from the core pages and every enabled module's pages, for one role.

Pure functions first (``plan_navigation`` is tested without Streamlit), then ``build_pages``
turns a plan into ``st.Page`` objects whose callables resolve the handler lazily, so a broken
module page is imported only when someone opens it, and fails inside the error boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from nxforge.app.boundary import run_guarded
from nxforge.app.context import CorePageContext
from nxforge.app.core_pages import resolve_core_handler
from nxforge.app.flash import flash
from nxforge.app.formatting import plain
from nxforge.app.registry import CORE_PAGES, CORE_SECTION
from nxforge.app.session import SESSION_USER
from nxforge.module_system.loading import resolve_handler
from nxforge.module_system.manifest import PageSpec
from nxforge.platform import Platform
from nxforge.roles import CLIENT_ROLE, can_see

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NavEntry:
    """One routable page: where it sits in the menu, its URL and how to find its code."""

    section: str
    spec: PageSpec
    url_path: str
    module: str | None
    """The module's name, or None for a core page."""


@dataclass
class NavPlan:
    """The pages one role may open, in menu order, and the problems found while building it."""

    entries: list[NavEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def sections(self) -> dict[str, list[NavEntry]]:
        """Entries grouped by section title, sections in first-seen order."""
        grouped: dict[str, list[NavEntry]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.section, []).append(entry)
        return grouped

    @property
    def url_paths(self) -> list[str]:
        """Every routable URL path."""
        return [entry.url_path for entry in self.entries]


def module_url_path(module: str, page: str) -> str:
    """``<module-name>-<page-name>``: unique as long as no two modules combine into the same string."""
    return f"{module}-{page}"


def _all_entries(platform: Platform) -> list[NavEntry]:
    """Every page of the core and of enabled modules, before role filtering."""
    core = sorted(CORE_PAGES, key=lambda spec: spec.order)
    entries = [NavEntry(CORE_SECTION, spec, spec.name, None) for spec in core]
    for info in platform.enabled_modules():
        assert info.manifest is not None
        for spec in sorted(info.manifest.pages, key=lambda s: (s.order, s.name)):
            entries.append(
                NavEntry(
                    info.manifest.display_name,
                    spec,
                    module_url_path(info.name, spec.name),
                    info.name,
                )
            )
    return entries


def plan_navigation(platform: Platform, role: str) -> NavPlan:
    """The pages ``role`` may open; a page whose URL path is already taken is left out and reported."""
    plan = NavPlan()
    owners: dict[str, NavEntry] = {}
    for entry in _all_entries(platform):
        taken = owners.get(entry.url_path)
        if taken is not None:
            message = (
                f"module {entry.module!r}: page {entry.spec.name!r} would have URL path /{entry.url_path}, "
                f"already used by {_owner(taken)}; rename the page in {entry.module}'s manifest.yaml"
            )
            log.error(message)
            plan.problems.append(message)
            continue
        owners[entry.url_path] = entry
        if can_see(role, entry.spec.roles):
            plan.entries.append(entry)
    module_sections = [e for e in plan.entries if e.module is not None]
    core_sections = [e for e in plan.entries if e.module is None]
    plan.entries = module_sections + core_sections  # the business pages come first in the menu
    return plan


def every_url_path(platform: Platform) -> list[str]:
    """Every URL path some role may open: the login page answers all of them, so a bookmark survives signing in."""
    return list(dict.fromkeys(entry.url_path for entry in _all_entries(platform)))


def _owner(entry: NavEntry) -> str:
    return f"module {entry.module!r} page {entry.spec.name!r}" if entry.module else f"core page {entry.spec.name!r}"


def default_url_path(plan: NavPlan) -> str | None:
    """The page opened at ``/``: a module page marked default, else a core page marked default, else the first."""
    for entry in plan.entries:
        if entry.module is not None and entry.spec.default:
            return entry.url_path
    for entry in plan.entries:
        if entry.spec.default:
            return entry.url_path
    return plan.entries[0].url_path if plan.entries else None


PageRunner = Callable[[NavEntry], None]


def build_pages(plan: NavPlan, run: PageRunner) -> dict[str, list[Any]]:
    """``st.navigation``'s input: sections of ``st.Page`` objects whose callables call ``run(entry)``."""
    if not plan.entries:  # e.g. a client user while the module holding its pages is disabled
        return {CORE_SECTION: [st.Page(_nothing_to_show, title="Nothing to show", url_path="nothing", default=True)]}
    default = default_url_path(plan)
    sections: dict[str, list[Any]] = {}
    for title, entries in plan.sections().items():  # the menu renders both as Markdown: manifests are input
        sections[plain(title)] = [
            st.Page(
                _page_callable(entry, run),
                title=plain(entry.spec.title),
                icon=entry.spec.icon,
                url_path=entry.url_path,
                default=entry.url_path == default,
            )
            for entry in entries
        ]
    return sections


def _nothing_to_show() -> None:
    st.title("Nothing to show")
    st.info("No page is open to your role right now: ask an admin (a module may be disabled).")


def _page_callable(entry: NavEntry, run: PageRunner) -> Callable[[], None]:
    def page() -> None:
        run(entry)

    page.__name__ = entry.url_path.replace("-", "_")
    return page


def render_entry(entry: NavEntry, platform: Platform, role: str, core_context: CorePageContext,
                 pages_dir: Path) -> None:
    """Resolve the page's handler now (lazily) and call ``render(ctx, role)`` inside the error boundary.

    A core page's handler is loaded from ``pages_dir`` (the top-level ``core_pages/``), a module page's
    from the modules folder under the ``nxforge_modules`` namespace, with ``ctx.client`` set to the
    signed-in user's client (None for staff): the page passes it to its query functions.
    """

    def render() -> None:
        if entry.module is None:
            resolve_core_handler(pages_dir, entry.spec.handler)(core_context, role)
            return
        if role == CLIENT_ROLE and not core_context.client:
            raise PermissionError("a client user without a client sees nothing: set client: in users.yaml")
        handler = resolve_handler(platform.env.modules_dir, entry.spec.handler)
        context = platform.context(entry.module)
        context.user = st.session_state.get(SESSION_USER)
        context.client = core_context.client if role == CLIENT_ROLE else None
        context.notify_user = flash
        handler(context, role)

    label = entry.spec.title if entry.module is None else f"{entry.section} / {entry.spec.title}"
    run_guarded(label, render, entry.module)
