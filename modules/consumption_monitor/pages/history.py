"""History: energy (not the meter's counter) over a range (a preset or free dates in the site's zone) for
endpoints or a client, per hour up to a month and per day beyond (both from the hourly rollup), resets and
swaps marked, and monthly bars. A client user's page asks every query for its own endpoints only."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from nxforge.sdk import ModuleContext, chart_text, plain

from ..archive_layout import archive_dir
from ..history_queries import events_with_archive, history_energy, touches_archive
from ..pages._charts import colour_of, date_range, local_times, mark_events, time_layout
from ..pages._shared import live_of, options_of, settings_of
from ..queries import event_readings, history_rollup

RAW_RANGE_LIMIT = timedelta(days=31)
"""Up to a month the chart shows energy per hour; beyond, per day (a year is 365 bars per endpoint)."""
RANGES = {
    "24 hours": timedelta(days=1),
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
    "1 year": timedelta(days=365),
}
DATES = "Dates"
"""The Range choice that shows a free date range (whole days in the site's zone)."""


def _render_long_range(ctx: ModuleContext, ids: list[str], start: datetime, end: datetime, tz: ZoneInfo,
                       universe: list[str]) -> None:
    """Ranges past a month come from the hourly rollup, summed per day: a year is 365 points per endpoint
    whatever the poll interval, and resets and swaps are still marked from the few readings that carry one.
    A range reaching an archived month is read through DuckDB from the Parquet archive plus the database."""
    archive = archive_dir(ctx.storage)
    if touches_archive(archive, start, end):
        daily = history_energy(ctx.db, ids, start, end, bucket="day", tz=tz, client=ctx.client, archive=archive)
        events = events_with_archive(ctx.db, ids, start, end, client=ctx.client, archive=archive)
        source = "the Parquet archive and the hourly rollup"
    else:
        daily = history_rollup(ctx.db, ids, start, end, bucket="day", tz=tz, client=ctx.client)
        events = event_readings(ctx.db, ids, start, end, client=ctx.client)
        source = "the hourly rollup"
    figure = go.Figure()
    for endpoint_id in ids:
        rows = daily.filter(pl.col("endpoint_id") == endpoint_id)
        figure.add_trace(go.Scatter(x=local_times(rows["at"], tz), y=rows["kwh"].to_list(), mode="lines",
                                    name=chart_text(endpoint_id), connectgaps=False,
                                    line={"color": colour_of(endpoint_id, universe)}))
    mark_events(figure, events, tz)
    st.plotly_chart(_within(time_layout(figure, tz, "kWh per day"), start, end, tz), key="hist-line-daily")
    failed = int(daily["failed"].sum() or 0) if not daily.is_empty() else 0
    st.caption(f"Daily energy from {source}; {failed} failed read(s) in the range; "
               f"dashed lines mark {events.height} reset(s), rollover(s) and swap(s).")
    monthly = (
        daily.with_columns(pl.col("at").dt.convert_time_zone(str(tz)).dt.strftime("%Y-%m").alias("month"))
        .group_by("endpoint_id", "month").agg(pl.col("kwh").sum()).sort("month")
    )
    if not monthly.is_empty():
        bars = _monthly_bars(monthly, universe)
        st.plotly_chart(bars, key="hist-bars-daily")


def _within(figure: go.Figure, start: datetime, end: datetime, tz: ZoneInfo) -> go.Figure:
    """The time axis over exactly the chosen range (site wall-clock time)."""
    return figure.update_xaxes(range=[start.astimezone(tz), end.astimezone(tz)])


def _range(span: DeltaGenerator, ctx: ModuleContext, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the chosen preset (ending now) or of the free dates (local midnights)."""
    choice = span.selectbox("Range", [*RANGES, DATES], index=1, key="hist-range")
    end = ctx.clock()
    if choice != DATES:
        return end - RANGES[choice], end
    with span:
        first, last = date_range("hist-dates", end.astimezone(tz).date())
    return (datetime.combine(first, time(0), tzinfo=tz),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz))


def render(ctx: ModuleContext, role: str) -> None:
    """Pick endpoints (directly or by client) and a range, then the charts."""
    settings = settings_of(ctx)
    tz = str(settings.timezone)
    st.title("History")
    live = live_of(ctx)
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
    start, end = _range(span, ctx, settings.timezone)
    if not ids:
        st.info("Choose at least one endpoint.")
        return
    universe = live["endpoint_id"].to_list()
    if end - start > RAW_RANGE_LIMIT:
        _render_long_range(ctx, ids, start, end, settings.timezone, universe)
        return
    hourly = history_rollup(ctx.db, ids, start, end, bucket="hour", tz=settings.timezone, client=ctx.client)
    events = event_readings(ctx.db, ids, start, end, client=ctx.client)
    figure = go.Figure()
    for endpoint_id in ids:
        rows = hourly.filter(pl.col("endpoint_id") == endpoint_id)
        figure.add_trace(go.Bar(x=local_times(rows["at"], settings.timezone), y=rows["kwh"].to_list(),
                                name=chart_text(endpoint_id), marker_color=colour_of(endpoint_id, universe)))
    figure.update_layout(barmode="stack")
    mark_events(figure, events, settings.timezone)
    chart = _within(time_layout(figure, settings.timezone, "kWh per hour"), start, end, settings.timezone)
    st.plotly_chart(chart, key="hist-line")
    failed = int(hourly["failed"].sum() or 0) if not hourly.is_empty() else 0
    st.caption(f"Energy per hour ({plain(tz)}); {failed} failed read(s) in the range; dashed lines mark "
               f"{events.height} reset(s), rollover(s) and swap(s). The Energy page steps through periods.")
    monthly = (
        hourly.with_columns(pl.col("at").dt.convert_time_zone(tz).dt.strftime("%Y-%m").alias("month"))
        .group_by("endpoint_id", "month").agg(pl.col("kwh").sum()).sort("month")
    )
    if not monthly.is_empty():
        st.plotly_chart(_monthly_bars(monthly, universe), key="hist-bars")
        st.caption("kWh per month inside the range; the Billing reports page gives billed figures.")


def _monthly_bars(monthly: pl.DataFrame, universe: list[str]) -> go.Figure:
    """kWh per calendar month (site time) per endpoint, on a category axis labelled YYYY-MM."""
    bars = go.Figure([go.Bar(x=g["month"].to_list(), y=g["kwh"].to_list(), name=chart_text(k[0]),
                             marker_color=colour_of(str(k[0]), universe))
                      for k, g in monthly.group_by("endpoint_id", maintain_order=True)])
    bars.update_layout(barmode="group", height=300, margin={"t": 30}, yaxis_title="kWh (in range)")
    bars.update_xaxes(type="category", title="month")
    return bars
