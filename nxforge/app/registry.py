"""The core's own pages, declared exactly like module pages so one navigation builder serves both.

A core page's handler is ``<file stem>:<function>`` of a file in the top-level ``core_pages/`` folder,
loaded by :func:`nxforge.app.core_pages.resolve_core_handler` when the page is opened.
"""

from __future__ import annotations

from nxforge.module_system.manifest import PageSpec

CORE_SECTION = "NxForge"

CORE_PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        name="overview",
        title="Overview",
        handler="overview:render",
        icon=":material/dashboard:",
        order=10,
        default=True,
    ),
    PageSpec(
        name="executions",
        title="Executions",
        handler="executions:render",
        icon=":material/history:",
        roles=["ops", "admin"],
        order=20,
    ),
    PageSpec(
        name="events",
        title="Events",
        handler="events:render",
        icon=":material/notifications:",
        roles=["ops", "admin"],
        order=30,
    ),
    PageSpec(
        name="audit",
        title="Audit",
        handler="audit:render",
        icon=":material/policy:",
        roles=["ops", "admin"],
        order=35,
    ),
    PageSpec(
        name="modules",
        title="Modules",
        handler="modules:render",
        icon=":material/extension:",
        roles=["admin"],
        order=40,
    ),
    PageSpec(
        name="users",
        title="Users",
        handler="users:render",
        icon=":material/group:",
        roles=["admin"],
        order=50,
    ),
)
