"""What every time chart of the consumption pages shares: stable colours, a range selector, the site's zone."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from nxforge.sdk import chart_text

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#e6550d", "#31a354", "#ad494a", "#6b6ecf", "#b5cf6b", "#de9ed6", "#3182bd"]
RANGE_BUTTONS = [
    {"count": 1, "label": "1d", "step": "day", "stepmode": "backward"},
    {"count": 7, "label": "1w", "step": "day", "stepmode": "backward"},
    {"count": 1, "label": "1m", "step": "month", "stepmode": "backward"},
    {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
    {"step": "all", "label": "all"},
]
EVENT_COLOUR = "rgba(120,0,160,0.6)"
FAILED_COLOUR = "rgba(200,0,0,0.25)"


def colour_of(name: str, universe: list[str] | None = None) -> str:
    """The same colour for one endpoint (or feed, or client) on every chart and every rerun.

    With ``universe`` (every endpoint id, or every client), colours follow its sorted order, so no
    two of the first len(PALETTE) names share one; without, a hash of the name picks it.
    """
    if universe and name in universe:
        return PALETTE[sorted(set(universe)).index(name) % len(PALETTE)]
    digest = hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def local_times(series: pl.Series, tz: ZoneInfo) -> list[datetime]:
    """UTC instants as the site's wall-clock times, for a chart's x axis."""
    return series.dt.convert_time_zone(tz.key).to_list()


def time_layout(figure: go.Figure, tz: ZoneInfo, y_title: str, height: int = 420) -> go.Figure:
    """A range selector and slider on the time axis, its title naming the site's zone."""
    figure.update_layout(height=height, margin={"t": 30}, yaxis_title=y_title, legend={"orientation": "h"},
                         hovermode="x unified")
    figure.update_xaxes(title=f"time ({tz.key})", rangeselector={"buttons": RANGE_BUTTONS},
                        rangeslider={"visible": True, "thickness": 0.06}, type="date")
    return figure


def mark_events(figure: go.Figure, events: pl.DataFrame, tz: ZoneInfo) -> None:
    """Dashed vertical lines at resets, rollovers, swaps and held readings, labelled with the endpoint."""
    for at, endpoint_id, event in events.select("read_at", "endpoint_id", "event").head(50).iter_rows():
        figure.add_vline(x=at.astimezone(tz), line_width=1, line_dash="dash", line_color=EVENT_COLOUR,
                         annotation_text=chart_text(f"{endpoint_id} {event}"), annotation_position="top left")


def date_range(key: str, today: date, default_days: int = 7) -> tuple[date, date]:
    """A free date range (inclusive days in the site's zone); an incomplete pick falls back to the default."""
    picked = st.date_input("Dates", value=(today - timedelta(days=default_days - 1), today), key=key)
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked[0], picked[1]
    return today - timedelta(days=default_days - 1), today
