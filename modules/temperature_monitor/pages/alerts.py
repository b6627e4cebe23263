"""Alert history: every raise, escalation and recovery the module decided, newest first."""

from __future__ import annotations

from nxforge.sdk import ModuleContext

from ..queries import alert_history


def render(ctx: ModuleContext, role: str) -> None:
    """The transitions table."""
    import streamlit as st

    st.title("Temperature alerts")
    history = alert_history(ctx.db)
    if history.is_empty():
        st.success("No alert so far.")
        return
    st.dataframe(history.drop("id"), hide_index=True)
