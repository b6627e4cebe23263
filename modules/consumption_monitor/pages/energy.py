"""Energy: kWh bars per hour, day, week or month, stacked by endpoint, feed or client, stepped back and
forth by period or over free dates (whole days in the site's zone), with the previous period beside them.
Bars come from the hourly rollup through ``energy_per_period`` (through DuckDB over the Parquet archive too
when the window reaches an archived month); a bar resting on fewer hours of readings
than it spans is marked as estimated. A client user's page asks every query for its own endpoints only."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from nxforge.sdk import ModuleContext, chart_text, kwh, local_time, plain

from ..archive_layout import archive_dir
from ..energy_queries import energy_per_period, period_window, stack_energy
from ..history_queries import energy_per_period_archived, touches_archive
from ..pages._charts import colour_of, date_range, local_times, mark_events, time_layout
from ..pages._shared import live_of, options_of, settings_of
from ..queries import event_readings

BARS = {"Hour": "hour", "Day": "day", "Week": "week", "Month": "month"}
STACKS = {"Endpoint": "endpoint_id", "Feed": "feed", "Client": "client"}
OFFSET_KEY = "energy-offset"
BAR_MS = {"hour": 3_600_000, "day": 86_400_000, "week": 604_800_000, "month": 30 * 86_400_000}
"""A bar's span on the date axis (a month: 30 days): without it, a lone bar is drawn 1 ms wide, invisibly."""
EXPECTED_HOURS = {"hour": 1, "day": 24, "week": 168, "month": 672}
"""Hours a bar spans at least (a month: 28 days); one read on fewer than 95 % of them is partly estimated."""


def _step_buttons(back: DeltaGenerator, now: DeltaGenerator, forward: DeltaGenerator) -> int:
    """Earlier / Later / Now buttons moving the window; the offset lives in session state."""
    offset = int(st.session_state.get(OFFSET_KEY, 0))
    if back.button("◀ Earlier", key="energy-back", use_container_width=True):
        offset -= 1
    if now.button("Now", key="energy-now", use_container_width=True):
        offset = 0
    if forward.button("Later ▶", key="energy-forward", use_container_width=True, disabled=offset >= 0):
        offset = min(0, offset + 1)
    st.session_state[OFFSET_KEY] = offset
    return offset


def _windows(ctx: ModuleContext, period: str, tz: ZoneInfo) -> tuple[datetime, datetime, datetime, datetime]:
    """(start, end, previous start, previous end): the stepped period window, or the free dates (local
    midnights) with the same length just before them as the previous period."""
    back, now, forward, free = st.columns([1, 1, 1, 3])
    if free.toggle("Free dates", key="energy-free"):
        with free:
            first, last = date_range("energy-dates", ctx.clock().astimezone(tz).date())
        start = datetime.combine(first, time(0), tzinfo=tz)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
        return start, end, start - (end - start), start
    offset = _step_buttons(back, now, forward)
    start, end = period_window(ctx.clock(), period, tz, offset)
    return (start, end, *period_window(ctx.clock(), period, tz, offset - 1))


def _centres(starts: pl.Series, period: str, tz: ZoneInfo) -> list[datetime]:
    """Where a bar stands: the middle of its period, in the site's wall-clock time."""
    return [at + timedelta(milliseconds=BAR_MS[period] / 2) for at in local_times(starts, tz)]


def _energy(ctx: ModuleContext, ids: list[str], start: datetime, end: datetime, period: str,
            tz: ZoneInfo) -> pl.DataFrame:
    """Bars from the rollup, or through DuckDB over the Parquet archive plus the database when the
    window reaches an archived month (whose readings may be gone from the database)."""
    archive = archive_dir(ctx.storage)
    if touches_archive(archive, start, end):
        return energy_per_period_archived(ctx.db, ids, start, end, period, tz, client=ctx.client, archive=archive)
    return energy_per_period(ctx.db, ids, start, end, period, tz, client=ctx.client)


def render(ctx: ModuleContext, role: str) -> None:
    """Pick bars, stacking and clients; draw this period's bars against the previous period."""
    settings = settings_of(ctx)
    tz = settings.timezone
    st.title("Energy")
    live = live_of(ctx)
    if live.is_empty():
        st.info("No endpoint yet: add some on the Endpoints page and let the collector read them.")
        return
    pick = st.columns([2, 2, 3])
    period = BARS[pick[0].segmented_control("Bars per", list(BARS), default="Day", key="energy-bars") or "Day"]
    by = STACKS[pick[1].segmented_control("Stack by", list(STACKS), default="Client", key="energy-stack") or "Client"]
    clients: list[str] = []
    if ctx.client is None:  # a client user sees one client: nothing to choose
        clients = pick[2].multiselect("Clients", options_of(live, "client"), key="energy-clients")
    endpoints = live.filter(pl.col("client").is_in(clients)) if clients else live
    ids = endpoints["endpoint_id"].to_list()
    start, end, before_start, before_end = _windows(ctx, period, tz)
    energy = _energy(ctx, ids, start, end, period, tz)
    before = _energy(ctx, ids, before_start, before_end, period, tz)
    st.caption(f"{local_time(start, tz)} to {local_time(end, tz)} ({plain(tz.key)}) · previous period from "
               f"{local_time(before_start, tz)}")
    if energy.is_empty():
        st.info("No readings in this period: step back, or choose other clients.")
        return
    stacked = stack_energy(energy, endpoints, by)
    universe = live["endpoint_id"].to_list() if by == "endpoint_id" else options_of(live, by)
    figure = go.Figure()
    for group, rows in stacked.group_by("group", maintain_order=True):
        name = str(group[0])
        figure.add_trace(go.Bar(x=_centres(rows["period_start"], period, tz), y=rows["kwh"].to_list(),
                                name=chart_text(name),
                                marker_color=colour_of(name, universe), width=BAR_MS[period] * 0.85))
    totals = energy.group_by("period_start").agg(pl.col("kwh").sum()).sort("period_start")
    previous = before.group_by("period_start").agg(pl.col("kwh").sum()).sort("period_start")
    slots = totals["period_start"].to_list()
    if not previous.is_empty():
        # the previous window's n-th bar beside this window's n-th bar (months differ in length)
        figure.add_trace(go.Scatter(x=_centres(pl.Series(slots[: previous.height]), period, tz),
                                    y=previous["kwh"].head(len(slots)).to_list(), name="previous period",
                                    mode="lines+markers", line={"color": "#444", "dash": "dot"}))
    hours = EXPECTED_HOURS[period]
    now = ctx.clock()
    estimated = (energy.group_by("period_start").agg(pl.col("hours_read").min())
                 .filter((pl.col("hours_read") < hours * 0.95)
                         & (pl.col("period_start") + pl.duration(hours=hours) <= now))
                 .join(totals, on="period_start").sort("period_start"))
    if not estimated.is_empty():
        figure.add_trace(go.Scatter(x=_centres(estimated["period_start"], period, tz), y=estimated["kwh"].to_list(),
                                    mode="markers", name="partly estimated", marker={"symbol": "triangle-down",
                                    "size": 11, "color": "#ef6c00"}))
    mark_events(figure, event_readings(ctx.db, ids, start, end, client=ctx.client), tz)
    figure.update_layout(barmode="stack")
    time_layout(figure, tz, "kWh").update_xaxes(range=[start.astimezone(tz), end.astimezone(tz)])
    st.plotly_chart(figure, key="energy-bars-chart")
    total = float(energy["kwh"].sum())
    total_before = float(before["kwh"].sum()) if not before.is_empty() else None
    change = "" if not total_before else f" ({(total - total_before) / total_before * 100:+.1f} % on the previous)"
    st.caption(f"{kwh(total)} in this period{change}; {estimated.height} bar(s) rest partly on estimates "
               "(orange triangles); dashed lines mark resets, rollovers and swaps.")
    summary = stacked.group_by("group").agg(pl.col("kwh").sum()).sort("kwh", descending=True)
    st.dataframe(summary.select(pl.col("group").alias(next(k for k, v in STACKS.items() if v == by)),
                                pl.col("kwh").map_elements(kwh, return_dtype=pl.String).alias("Energy")),
                 hide_index=True)
