"""The core's own pages, declared exactly like module pages so one navigation builder serves both."""

from __future__ import annotations

from nxforge.module_system.manifest import PageSpec

CORE_SECTION = "NxForge"

CORE_PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        name="overview",
        title="Overview",
        handler="nxforge.app.pages.overview:render",
        icon=":material/dashboard:",
        order=10,
        default=True,
    ),
    PageSpec(
        name="executions",
        title="Executions",
        handler="nxforge.app.pages.executions:render",
        icon=":material/history:",
        roles=["ops", "admin"],
        order=20,
    ),
    PageSpec(
        name="events",
        title="Events",
        handler="nxforge.app.pages.events:render",
        icon=":material/notifications:",
        roles=["ops", "admin"],
        order=30,
    ),
    PageSpec(
        name="modules",
        title="Modules",
        handler="nxforge.app.pages.modules:render",
        icon=":material/extension:",
        roles=["admin"],
        order=40,
    ),
    PageSpec(
        name="users",
        title="Users",
        handler="nxforge.app.pages.users:render",
        icon=":material/group:",
        roles=["admin"],
        order=50,
    ),
)
