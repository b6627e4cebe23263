"""Temperatures now: a heat-map grid of racks per location, and every sensor's last value."""

from __future__ import annotations

import plotly.graph_objects as go

from nxforge.sdk import ModuleContext

from ..pages import configured_sensors
from ..queries import current_state, rack_grid

LEVEL_MARK = {"ok": "", "warning": " ⚠", "critical": " ⛔", "unknown": " ?"}


def render(ctx: ModuleContext, role: str) -> None:
    """One heat-map per location (racks across, hottest inlet per rack), then the table."""
    import streamlit as st

    st.title("Temperatures now")
    sensors = configured_sensors(ctx)
    if not sensors:
        st.info(f"No sensors configured: add YAML files under {ctx.config_dir}.")
        return
    current = current_state(ctx.db, sensors)
    kinds = sorted(set(current["kind"].to_list()))
    # Inlet temperatures are what a rack's health is judged on: open on them when there are any.
    kind = st.selectbox("Sensor kind", kinds, index=kinds.index("inlet") if "inlet" in kinds else 0)
    unit, low, high = ("%RH", 0, 100) if kind == "humidity" else ("°C", 15, 40)
    grid = rack_grid(current, kind)
    for location in grid["location"].unique(maintain_order=True).to_list():
        cells = grid.filter(grid["location"] == location)
        labels = [f"{v:.1f}{LEVEL_MARK.get(lv, '')}" if v is not None else "–"
                  for v, lv in zip(cells["value"].to_list(), cells["level"].to_list(), strict=True)]
        figure = go.Figure(go.Heatmap(
            x=cells["rack"].to_list(), y=[location], z=[cells["value"].to_list()], text=[labels],
            texttemplate="%{text}", colorscale="RdYlBu_r", zmin=low, zmax=high, colorbar={"title": unit},
        ))
        figure.update_layout(height=180, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title=location)
        st.plotly_chart(figure, width="stretch")
    st.dataframe(current, hide_index=True)
