"""Events (ops, admin): what modules and the core reported, filtered by module, kind and severity."""

from __future__ import annotations

import streamlit as st

from nxforge.app import queries
from nxforge.app.cached import query
from nxforge.app.context import CorePageContext
from nxforge.app.formatting import local_time, plain
from nxforge.app.widgets import choice_filter, date_range_filter
from nxforge.events import SEVERITIES


def render(ctx: CorePageContext, role: str) -> None:
    """Filters, then the matching events newest first."""
    platform = ctx.platform
    tz = platform.timezone
    st.title("Events")
    options = query(queries.event_filter_options, platform.engine)
    columns = st.columns(4)
    with columns[0]:
        module = choice_filter("Module", options["module"], "event-module")
    with columns[1]:
        kind = choice_filter("Kind", options["kind"], "event-kind")
    with columns[2]:
        severities = st.multiselect("Severity", list(SEVERITIES), key="event-severity")
    with columns[3]:
        start, end = date_range_filter("Between", "event-dates", tz, platform.clock().astimezone(tz).date())
    found = query(
        queries.list_events,
        platform.engine,
        module=module,
        kind=kind,
        severities=tuple(severities),
        start=start,
        end=end,
    )
    st.caption(f"{found.height} event(s), newest first (at most 500). Times in {plain(platform.core.timezone)}.")
    if found.is_empty():
        st.info("No event matches. Widen the dates or clear a filter.")
        return
    st.dataframe(
        [
            {
                "At": local_time(row["at"], tz, with_seconds=True),
                "Severity": row["severity"],
                "Module": row["module"],
                "Kind": row["kind"],
                "Message": row["message"],
                "Data": row["data"] or "",
            }
            for row in found.iter_rows(named=True)
        ],
        hide_index=True,
    )
