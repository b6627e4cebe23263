"""Executions (ops, admin): every job run the collector recorded, filtered, each expandable to its
summary, error and captured log."""

from __future__ import annotations

import json

import streamlit as st

from nxforge.app import queries
from nxforge.app.boundary import fenced
from nxforge.app.cached import query
from nxforge.app.context import CorePageContext
from nxforge.app.formatting import duration, local_time, plain
from nxforge.app.widgets import choice_filter, date_range_filter

DETAILED_ROWS = 25


def render(ctx: CorePageContext, role: str) -> None:
    """Filters, the matching runs as a table, then details of the newest ones."""
    platform = ctx.platform
    tz = platform.timezone
    st.title("Executions")
    options = query(queries.execution_filter_options, platform.engine)
    columns = st.columns(4)
    with columns[0]:
        module = choice_filter("Module", options["module"], "exec-module")
    with columns[1]:
        job = choice_filter("Job", options["job"], "exec-job")
    with columns[2]:
        statuses = st.multiselect("Status", options["status"], key="exec-status")
    with columns[3]:
        start, end = date_range_filter("Started between", "exec-dates", tz, platform.clock().astimezone(tz).date())
    runs = query(
        queries.list_executions, platform.engine, module=module, job=job, statuses=tuple(statuses), start=start, end=end
    )
    st.caption(f"{runs.height} run(s), newest first (at most 500). Times in {plain(platform.core.timezone)}.")
    if runs.is_empty():
        st.info("No run matches. Widen the dates or clear a filter.")
        return
    st.dataframe(
        [
            {
                "#": row["id"],
                "Module": row["module"],
                "Job": row["job"],
                "Status": row["status"],
                "Trigger": row["trigger"],
                "Attempt": row["attempt"],
                "Started": local_time(row["started_at"], tz, with_seconds=True),
                "Took": duration(row["duration_s"]),
                "Host": row["host"] or "",
            }
            for row in runs.iter_rows(named=True)
        ],
        hide_index=True,
    )
    st.subheader("Details")
    for row in runs.head(DETAILED_ROWS).iter_rows(named=True):
        label = f"#{row['id']} {row['module']} / {row['job']} · {row['status']} · {local_time(row['started_at'], tz)}"
        details = st.expander(plain(label), key=f"exec-detail-{row['id']}", on_change="rerun")
        with details:
            if row["summary"]:
                st.json(json.loads(row["summary"]))
            if row["error"]:
                st.error(fenced(row["error"]))  # a device's words, line breaks kept, never markup
            if details.open:  # the captured log is fetched only when someone opens the run
                st.code(queries.execution_log(platform.engine, row["id"]) or "(no log lines captured)", language="log")
