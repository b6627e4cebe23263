"""History: consumption over a range for an endpoint or a client, downsampled for the browser,
with resets and gaps marked, and monthly bars."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from nxforge.sdk import ModuleContext

from ..pages._shared import cached_live, database_key, minute_now, options_of, settings_of
from ..queries import event_readings, history, history_rollup

MAX_POINTS = 2000
RAW_RANGE_LIMIT = timedelta(days=31)
"""Up to a month the chart shows every reading (downsampled); beyond, the hourly rollup."""
RANGES = {
    "24 hours": timedelta(days=1),
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
    "1 year": timedelta(days=365),
}


def downsample(readings: pl.DataFrame, max_points: int = MAX_POINTS) -> pl.DataFrame:
    """At most ``max_points`` rows per endpoint, keeping every event row (reset, swap) and the last."""
    if readings.height <= max_points:
        return readings
    step = max(1, readings.height // max_points)
    index = pl.int_range(pl.len()).over("endpoint_id")
    keep = (index % step == 0) | pl.col("event").is_not_null() | (index == pl.len().over("endpoint_id") - 1)
    return readings.filter(keep)


def _render_long_range(ctx: ModuleContext, ids: list[str], start: datetime, end: datetime, tz: ZoneInfo) -> None:
    """Ranges past a month come from the hourly rollup, summed per day: a year is 365 points per endpoint
    whatever the poll interval, and resets and swaps are still marked from the few readings that carry one."""
    daily = history_rollup(ctx.db, ids, start, end, bucket="day", tz=tz)
    events = event_readings(ctx.db, ids, start, end)
    figure = go.Figure()
    for endpoint_id in ids:
        rows = daily.filter(pl.col("endpoint_id") == endpoint_id)
        figure.add_trace(go.Scatter(x=rows["at"].dt.convert_time_zone(str(tz)).to_list(), y=rows["kwh"].to_list(),
                                    mode="lines", name=endpoint_id, connectgaps=False))
    for at, endpoint_id, event in events.select("read_at", "endpoint_id", "event").iter_rows():
        figure.add_vline(x=at.astimezone(tz), line_width=1, line_dash="dash", line_color="rgba(120,0,160,0.5)",
                         annotation_text=f"{endpoint_id} {event}", annotation_position="top left")
    figure.update_layout(height=420, margin={"t": 30}, yaxis_title="kWh per day", xaxis_title=f"day ({tz})")
    st.plotly_chart(figure, key="hist-line-daily")
    failed = int(daily["failed"].sum() or 0) if not daily.is_empty() else 0
    st.caption(f"Daily energy from the hourly rollup; {failed} failed read(s) in the range; "
               f"dashed lines mark {events.height} reset(s), rollover(s) and swap(s).")
    monthly = (
        daily.with_columns(pl.col("at").dt.convert_time_zone(str(tz)).dt.strftime("%Y-%m").alias("month"))
        .group_by("endpoint_id", "month").agg(pl.col("kwh").sum()).sort("month")
    )
    if not monthly.is_empty():
        bars = go.Figure([go.Bar(x=g["month"].to_list(), y=g["kwh"].to_list(), name=str(k[0]))
                          for k, g in monthly.group_by("endpoint_id", maintain_order=True)])
        bars.update_layout(barmode="group", height=300, margin={"t": 30}, yaxis_title="kWh (in range)")
        st.plotly_chart(bars, key="hist-bars-daily")


def render(ctx: ModuleContext, role: str) -> None:
    """Pick endpoints (directly or by client) and a range, then the charts."""
    settings = settings_of(ctx)
    tz = str(settings.timezone)
    st.title("History")
    live = cached_live(ctx.db, database_key(ctx.db), minute_now(ctx), settings.max_stale_s)
    if live.is_empty():
        st.info("No endpoint yet: add some on the Endpoints page and let the collector read them.")
        return
    by, pick, span = st.columns([1, 3, 1])
    mode = by.segmented_control("By", ["Endpoint", "Client"], default="Endpoint", key="hist-by") or "Endpoint"
    if mode == "Client":
        client = pick.selectbox("Client", options_of(live, "client"), key="hist-client")
        ids = live.filter(pl.col("client") == client)["endpoint_id"].to_list()
    else:
        ids = pick.multiselect(
            "Endpoints",
            live["endpoint_id"].to_list(),
            default=live["endpoint_id"].head(1).to_list(),
            key="hist-endpoints",
        )
    length = RANGES[span.selectbox("Range", list(RANGES), index=1, key="hist-range")]
    if not ids:
        st.info("Choose at least one endpoint.")
        return
    end = ctx.clock()
    if length > RAW_RANGE_LIMIT:
        _render_long_range(ctx, ids, end - length, end, settings.timezone)
        return
    readings = history(ctx.db, ids, end - length, end, include_failed=True)
    good = downsample(readings.filter(pl.col("success")))
    failed = readings.filter(~pl.col("success"))
    figure = go.Figure()
    for endpoint_id in ids:
        rows = good.filter(pl.col("endpoint_id") == endpoint_id)
        times = rows["read_at"].dt.convert_time_zone(tz).to_list()
        figure.add_trace(
            go.Scatter(x=times, y=rows["corrected_kwh"].to_list(), mode="lines", name=endpoint_id, connectgaps=False)
        )
        events = rows.filter(pl.col("event").is_not_null())
        if not events.is_empty():
            figure.add_trace(
                go.Scatter(
                    x=events["read_at"].dt.convert_time_zone(tz).to_list(),
                    y=events["corrected_kwh"].to_list(),
                    mode="markers",
                    name=f"{endpoint_id} reset",
                    marker={"symbol": "x", "size": 10},
                    text=events["event"].to_list(),
                )
            )
    for at in failed["read_at"].dt.convert_time_zone(tz).to_list()[:200]:
        figure.add_vline(x=at, line_width=1, line_dash="dot", line_color="rgba(200,0,0,0.3)")
    figure.update_layout(height=420, margin={"t": 30}, yaxis_title="corrected kWh", xaxis_title=f"time ({tz})")
    st.plotly_chart(figure, key="hist-line")
    st.caption(f"{readings.height} reading(s), {failed.height} failed (dotted red lines); × marks resets and swaps.")
    monthly = (
        good.with_columns(pl.col("read_at").dt.convert_time_zone(tz).dt.strftime("%Y-%m").alias("month"))
        .group_by("endpoint_id", "month")
        .agg((pl.col("corrected_kwh").max() - pl.col("corrected_kwh").min()).alias("kwh"))
        .sort("month")
    )
    if not monthly.is_empty():
        bars = go.Figure(
            [
                go.Bar(x=g["month"].to_list(), y=g["kwh"].to_list(), name=str(k[0]))
                for k, g in monthly.group_by("endpoint_id", maintain_order=True)
            ]
        )
        bars.update_layout(barmode="group", height=300, margin={"t": 30}, yaxis_title="kWh (readings in range)")
        st.plotly_chart(bars, key="hist-bars")
        st.caption("Bars are the readings' span inside the range; the Billing reports page gives billed figures.")
