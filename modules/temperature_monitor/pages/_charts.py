"""What the temperature pages share: stable colours per sensor, the site's zone on time axes, coloured tables.

The same house style as the consumption pages (a module imports no other module, so the few lines
are its own): a range selector and slider on every time chart, the axis titled with the zone, a
free date range in site days, and status colours from the sdk's one palette.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from nxforge.sdk import status_hex

from ..kinds import level_status

PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79",
           "#31a354", "#6b6ecf", "#b5cf6b", "#de9ed6", "#3182bd", "#637939", "#7b4173"]
"""Sensor colours: no orange or red, which belong to the warning and critical lines and statuses."""
RANGE_BUTTONS = [
    {"count": 6, "label": "6h", "step": "hour", "stepmode": "backward"},
    {"count": 1, "label": "1d", "step": "day", "stepmode": "backward"},
    {"count": 7, "label": "1w", "step": "day", "stepmode": "backward"},
    {"count": 1, "label": "1m", "step": "month", "stepmode": "backward"},
    {"step": "all", "label": "all"},
]
LEVEL_COLOURS = {"warning": status_hex("warning"), "critical": status_hex("alarm")}
"""Threshold lines take the colour of the level they start."""


def colour_of(sensor_id: str, universe: list[str] | None = None) -> str:
    """The same colour for one sensor on every chart and every rerun.

    With ``universe`` (every configured sensor id), colours follow its sorted order, so no two of
    the first len(PALETTE) sensors share one; without, a hash of the id picks it.
    """
    if universe and sensor_id in universe:
        return PALETTE[sorted(set(universe)).index(sensor_id) % len(PALETTE)]
    digest = hashlib.sha1(sensor_id.encode("utf-8"), usedforsecurity=False).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def local_times(series: pl.Series, tz: ZoneInfo) -> list[datetime]:
    """UTC instants as the site's wall-clock times, for a chart's x axis."""
    return series.dt.convert_time_zone(tz.key).to_list()


def time_layout(figure: go.Figure, tz: ZoneInfo, y_title: str, height: int = 440) -> go.Figure:
    """A range selector and slider on the time axis, its title naming the site's zone."""
    figure.update_layout(height=height, margin={"t": 30}, yaxis_title=y_title, legend={"orientation": "h"},
                         hovermode="x unified")
    figure.update_xaxes(title=f"time ({tz.key})", rangeselector={"buttons": RANGE_BUTTONS},
                        rangeslider={"visible": True, "thickness": 0.06}, type="date")
    return figure


def date_range(key: str, today: date, default_days: int = 7) -> tuple[date, date]:
    """A free date range (inclusive days in the site's zone); an incomplete pick falls back to the default."""
    picked = st.date_input("Dates", value=(today - timedelta(days=default_days - 1), today), key=key)
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked[0], picked[1]
    return today - timedelta(days=default_days - 1), today


def show_table(rows: list[dict[str, str]], levels: dict[str, list[str]], column_config: dict[str, Any]) -> None:
    """A table of display strings (never "None"), the named columns coloured by each row's alert level."""
    if not rows:
        return
    table = pl.DataFrame(rows, infer_schema_length=None).to_pandas()
    styler = table.style
    for column, words in levels.items():
        css = [f"color: {status_hex(level_status(word))}; font-weight: 600" for word in words]
        styler = styler.apply(lambda _series, css=css: css, subset=[column])
    st.dataframe(styler, hide_index=True, column_config=column_config)
