"""Trends: each selected sensor's readings over a period, with its warning and critical limits drawn."""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go

from nxforge.sdk import ModuleContext

from ..pages import configured_sensors
from ..queries import thresholds, trend

LIMIT_COLOUR = {"warning": "orange", "critical": "red"}


def render(ctx: ModuleContext, role: str) -> None:
    """A Plotly line per sensor; dashed lines for the limits."""
    import streamlit as st

    st.title("Temperature trends")
    sensors = configured_sensors(ctx)
    if not sensors:
        st.info(f"No sensors configured: add YAML files under {ctx.config_dir}.")
        return
    names = {s.id: s.name for s in sensors}
    chosen = st.multiselect("Sensors", list(names), default=list(names)[:3], format_func=names.__getitem__)
    hours = st.select_slider("Period (hours)", options=[1, 6, 24, 72, 168], value=24)
    end = ctx.clock()
    frame = trend(ctx.db, chosen, end - timedelta(hours=hours), end)
    figure = go.Figure()
    for sensor_id in chosen:
        rows = frame.filter(frame["sensor_id"] == sensor_id)
        figure.add_trace(go.Scatter(x=rows["at"].to_list(), y=rows["value"].to_list(), name=names[sensor_id]))
    limits = thresholds([s for s in sensors if s.id in chosen])
    for row in limits.unique(subset=["direction", "level", "limit"]).iter_rows(named=True):
        figure.add_hline(y=row["limit"], line_dash="dash", line_color=LIMIT_COLOUR[row["level"]],
                         annotation_text=f"{row['level']} {row['direction']} {row['limit']:g}")
    figure.update_layout(height=480, yaxis_title="value", xaxis_title="time (UTC)")
    st.plotly_chart(figure, width="stretch")
