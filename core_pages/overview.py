"""Overview: is the platform healthy? Modules and their status, the last run of every job, recent failures."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from nxforge.app import queries
from nxforge.app.cached import query
from nxforge.app.context import CorePageContext
from nxforge.app.formatting import ago, duration, local_time, plain

FAILURE_WINDOW = timedelta(days=7)


def _runs_table(frame: pl.DataFrame, ctx: CorePageContext) -> list[dict[str, str]]:
    tz, now = ctx.platform.timezone, ctx.platform.clock()
    return [
        {
            "Module": row["module"],
            "Job": row["job"],
            "Status": row["status"],
            "Started": local_time(row["started_at"], tz),
            "When": ago(row["started_at"], now),
            "Took": duration(row["duration_s"]),
            "Error": (row["error"] or "").splitlines()[0] if row["error"] else "",
        }
        for row in frame.iter_rows(named=True)
    ]


def render(ctx: CorePageContext, role: str) -> None:
    """Show the health of modules and jobs at a glance."""
    platform = ctx.platform
    st.title("Overview")
    st.caption(f"{plain(platform.core.site_name)} · times in {plain(platform.core.timezone)}")
    modules = queries.module_overview(platform)
    now = platform.clock().replace(second=0, microsecond=0)  # a stable cache key for a minute
    runs = query(queries.last_runs, platform.engine)
    failures = query(queries.recent_failures, platform.engine, since=now - FAILURE_WINDOW)

    enabled = modules.filter(pl.col("status") == "enabled").height
    problems = modules.filter(pl.col("status").is_in(["broken", "failed"])).height
    first, second, third = st.columns(3)
    first.metric("Enabled modules", enabled, help="modules whose jobs run and whose pages are shown")
    second.metric("Jobs that have run", runs.height)
    third.metric("Failed runs, last 7 days", failures.height)
    if problems:
        st.warning(f"{problems} module(s) broken or failed to enable: an admin can see why on the Modules page.")

    st.subheader("Modules")
    st.dataframe(
        modules.rename(
            {
                "display_name": "Module",
                "name": "Name",
                "version": "Version",
                "status": "Status",
                "pages": "Pages",
                "jobs": "Jobs",
            }
        ).select("Module", "Name", "Version", "Status", "Pages", "Jobs"),
        hide_index=True,
    )
    st.subheader("Last run of each job")
    if runs.is_empty():
        st.info("No job has run yet. Start the collector: `python collector.py --once` (or from cron).")
    else:
        st.dataframe(_runs_table(runs, ctx), hide_index=True)
    st.subheader("Recent failures")
    if failures.is_empty():
        st.success("No failed run in the last 7 days.")
    else:
        st.dataframe(_runs_table(failures, ctx), hide_index=True)
