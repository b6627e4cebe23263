"""Temperatures now: counts per alert level, a heat-map grid of racks per location, and every sensor's last value.

Values carry their unit (°C, %RH), times are in the site's zone, levels take the sdk's status
colours (critical is the Live page's alarm red), and nothing shows "None".
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from nxforge.sdk import MISSING, ModuleContext, chart_text, local_time, number, plain

from ..kinds import kind_label, shown_unit
from ..pages import configured_sensors
from ..pages._charts import show_table
from ..queries import current_state, rack_grid

LEVELS = ["ok", "warning", "critical", "unknown"]
COLOUR_RANGE = {"inlet": (15, 40), "ambient": (15, 40), "exhaust": (25, 55), "cpu": (30, 90), "humidity": (0, 100)}
"""Where each kind's heat-map colour scale starts and ends (blue to red)."""
NO_RACK = "no rack"


def _heatmaps(current: pl.DataFrame, kind: str, unit: str) -> None:
    """One heat-map per location: racks across, the hottest sensor of ``kind`` per rack."""
    low, high = COLOUR_RANGE.get(kind, (15, 40))
    grid = rack_grid(current, kind)
    for location in grid["location"].unique(maintain_order=True).to_list():
        cells = grid.filter(pl.col("location") == location)
        values, levels = cells["value"].to_list(), cells["level"].to_list()
        labels = [number(v, 1) + ("" if lv in ("ok", None) else f"<br>{lv}") for v, lv in zip(values, levels,
                                                                                                   strict=True)]
        racks = [chart_text(rack or NO_RACK) for rack in cells["rack"].to_list()]
        figure = go.Figure(go.Heatmap(
            x=racks, y=[chart_text(location)], z=[values], text=[labels], texttemplate="%{text}",
            colorscale="RdYlBu_r", zmin=low, zmax=high, colorbar={"title": unit},
            hovertemplate=f"rack %{{x}}: %{{z:.1f}} {unit}<extra></extra>",
        ))
        figure.update_layout(height=180, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                             title=f"{chart_text(location)}: {kind_label(kind).lower()} ({unit})")
        st.plotly_chart(figure, width="stretch")


def _table(current: pl.DataFrame, ctx: ModuleContext) -> None:
    """Every sensor's last value with its unit, its level coloured, its time in the site's zone."""
    tz = ctx.timezone
    rows = [
        {
            "name": row["name"], "kind": kind_label(row["kind"]), "location": row["location"] or MISSING,
            "rack": row["rack"] or MISSING, "reading": number(row["value"], 1, shown_unit(row["kind"], row["unit"])),
            "level": row["level"], "crossed": f"{row['direction']} limit" if row["direction"] else MISSING,
            "at": local_time(row["at"], tz) or "never", "sensor_id": row["sensor_id"],
        }
        for row in current.iter_rows(named=True)
    ]  # fmt: skip
    show_table(rows, {"level": current["level"].to_list()}, {
        "name": "Sensor", "kind": "Kind", "location": "Location", "rack": "Rack",
        "reading": st.column_config.TextColumn("Reading (°C, %RH)", help="The last value read, in its unit"),
        "level": "Status", "crossed": "Limit crossed", "at": f"Last read ({tz.key})", "sensor_id": "Sensor ID",
    })  # fmt: skip


def render(ctx: ModuleContext, role: str) -> None:
    """Counts per level, one heat-map per location for the chosen kind, then the table of every sensor."""
    st.title("Temperatures now")
    sensors = configured_sensors(ctx)
    if not sensors:
        st.info(plain(f"No sensors configured: add YAML files under {ctx.config_dir}."))
        return
    current = current_state(ctx.db, sensors)
    counts = dict(current.group_by("level").len().iter_rows())
    for column, level in zip(st.columns(len(LEVELS)), LEVELS, strict=True):
        column.metric(level, counts.get(level, 0), border=True)
    units = {row["kind"]: shown_unit(row["kind"], row["unit"]) for row in current.iter_rows(named=True)}
    kinds = sorted(units)
    # Inlet temperatures are what a rack's health is judged on: open on them when there are any.
    kind = st.selectbox("Sensor kind", kinds, index=kinds.index("inlet") if "inlet" in kinds else 0,
                        format_func=lambda k: f"{kind_label(k)} ({units[k]})", key="tm-current-kind")
    _heatmaps(current, kind, units[kind])
    st.caption(plain(f"{current.height} sensor(s) · times in {ctx.timezone.key} · status colours: warning "
                     "orange, critical red, never read gray"))
    _table(current, ctx)
