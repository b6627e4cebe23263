"""Audit (ops, admin): who changed what and when, filtered, with the diff of the chosen change."""

from __future__ import annotations

import streamlit as st

from nxforge.app import queries
from nxforge.app.cached import query
from nxforge.app.context import CorePageContext
from nxforge.app.formatting import local_time, plain
from nxforge.app.widgets import choice_filter, date_range_filter


def _summary(detail: str | None) -> str:
    """The fields a change touched, in a line, for the table."""
    diff = queries.audit_diff(detail)
    return ", ".join(diff["field"].to_list())[:200]


def render(ctx: CorePageContext, role: str) -> None:
    """Filters, the matching audit rows newest first, then the chosen row's detail as a table."""
    platform = ctx.platform
    tz = platform.timezone
    st.title("Audit")
    options = query(queries.audit_filter_options, platform.engine)
    columns = st.columns(4)
    with columns[0]:
        actor = choice_filter("Who", options["actor"], "audit-actor")
    with columns[1]:
        action = choice_filter("Action", options["action"], "audit-action")
    with columns[2]:
        target = st.text_input("Target contains", key="audit-target")
    with columns[3]:
        start, end = date_range_filter("Between", "audit-dates", tz, platform.clock().astimezone(tz).date(),
                                       default_days=30)
    found = query(queries.list_audit, platform.engine, actor=actor, action=action, target=target, start=start,
                  end=end)
    st.caption(f"{found.height} change(s), newest first (at most 500). Times in {plain(platform.core.timezone)}.")
    if found.is_empty():
        st.info("No change matches. Widen the dates or clear a filter.")
        return
    rows = list(found.iter_rows(named=True))
    st.dataframe(
        [
            {
                "At": local_time(row["at"], tz, with_seconds=True),
                "Who": row["actor"],
                "Action": row["action"],
                "Target": row["target"],
                "Changed": _summary(row["detail"]),
            }
            for row in rows
        ],
        hide_index=True,
    )
    labels = {row["id"]: f"{local_time(row['at'], tz, with_seconds=True)} · {row['actor']} · {row['action']} · "
              f"{row['target']}" for row in rows}
    chosen = st.selectbox("Detail of", list(labels), format_func=labels.__getitem__, key="audit-row")
    detail = next(row["detail"] for row in rows if row["id"] == chosen)
    diff = queries.audit_diff(detail)
    if diff.is_empty():
        st.caption("This change carries no detail.")
        return
    st.dataframe(
        [{"Field": r["field"], "Before": r["before"], "After": r["after"]} for r in diff.iter_rows(named=True)],
        hide_index=True,
    )
