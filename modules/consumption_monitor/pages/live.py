"""Live status: every endpoint's latest reading, month to date, power and health, refreshed on its own.

Good at 1,000 endpoints: one query for status, one cached billing call for month to date, one
dataframe (cards only for a filtered handful). The table part is a fragment that reruns alone.
"""

from __future__ import annotations

import logging

import polars as pl
import streamlit as st

from nxforge.sdk import ModuleContext

from ..pages._shared import (
    cached_live,
    cached_month_to_date,
    database_key,
    minute_now,
    options_of,
    settings_of,
)

log = logging.getLogger(__name__)

REFRESH_S = 30
MAX_CARDS = 48
STATUSES = ["ok", "stale", "failing", "never", "disabled"]
STATUS_COLOURS = {"ok": "green", "stale": "orange", "failing": "red", "never": "gray", "disabled": "gray"}


def live_frame(ctx: ModuleContext) -> pl.DataFrame:
    """Status joined with month-to-date kWh: what both views show."""
    settings = settings_of(ctx)
    minute = minute_now(ctx)
    key = database_key(ctx.db)
    live = cached_live(ctx.db, key, minute, settings.max_stale_s)
    if live.is_empty():
        return live.with_columns(pl.lit(None, pl.Float64).alias("month_kwh"))
    month = cached_month_to_date(ctx.db, key, minute, str(settings.timezone), settings.max_extrapolation_s)
    return live.join(month, on="endpoint_id", how="left")


def _filtered(frame: pl.DataFrame, clients: list[str], locations: list[str], statuses: list[str]) -> pl.DataFrame:
    if clients:
        frame = frame.filter(pl.col("client").is_in(clients))
    if locations:
        frame = frame.filter(pl.col("location").is_in(locations))
    if statuses:
        frame = frame.filter(pl.col("status").is_in(statuses))
    return frame


def _table(frame: pl.DataFrame, tz: str) -> None:
    shown = frame.select(
        "endpoint_id", "name", "client", "location", "status",
        pl.col("corrected_kwh").alias("latest_kwh"), "month_kwh", (pl.col("power_w") / 1000).alias("power_kw"),
        pl.col("last_success_at").dt.convert_time_zone(tz).alias("last_read"),
        pl.concat_str([pl.col("last_error_class"), pl.col("last_error")], separator=": ", ignore_nulls=True)
        .alias("error"),
    )  # fmt: skip
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "endpoint_id": st.column_config.TextColumn("Endpoint"),
            "latest_kwh": st.column_config.NumberColumn("Latest kWh", format="%.1f"),
            "month_kwh": st.column_config.NumberColumn("Month to date kWh", format="%.1f"),
            "power_kw": st.column_config.NumberColumn("Power kW", format="%.2f"),
            "last_read": st.column_config.DatetimeColumn("Last good read", format="YYYY-MM-DD HH:mm"),
        },
    )


def _cards(frame: pl.DataFrame, tz: str) -> None:
    if frame.height > MAX_CARDS:
        st.info(f"{frame.height} endpoints: showing the first {MAX_CARDS} as cards. Filter, or use the table.")
    columns = st.columns(4)
    for index, row in enumerate(frame.head(MAX_CARDS).iter_rows(named=True)):
        with columns[index % 4].container(border=True):
            colour = STATUS_COLOURS.get(row["status"], "gray")
            st.markdown(f"**{row['name'] or row['endpoint_id']}** :{colour}-badge[{row['status']}]")
            st.caption(f"{row['client'] or '—'} · {row['location'] or '—'}")
            month = row["month_kwh"]
            st.metric("Month to date", "—" if month is None else f"{month:,.1f} kWh")
            power = row["power_w"]
            st.caption(("—" if power is None else f"{power / 1000:.2f} kW") + f" · {row['corrected_kwh'] or '—'} kWh")
            if row["last_error_class"]:
                st.caption(f":red[{row['last_error_class']}]")


@st.fragment(run_every=REFRESH_S)
def _live_body(ctx: ModuleContext, clients: list[str], locations: list[str], statuses: list[str], view: str) -> None:
    frame = live_frame(ctx)
    tz = str(settings_of(ctx).timezone)
    counts = dict(frame.group_by("status").len().iter_rows()) if not frame.is_empty() else {}
    columns = st.columns(len(STATUSES))
    for column, status in zip(columns, STATUSES, strict=True):
        column.metric(status, counts.get(status, 0))
    shown = _filtered(frame, clients, locations, statuses)
    st.caption(f"{shown.height} of {frame.height} endpoint(s) · refreshed every {REFRESH_S} s · times in {tz}")
    if shown.is_empty():
        st.info("No endpoint matches. Clear a filter, or add endpoints on the Endpoints page.")
    elif view == "Cards":
        _cards(shown, tz)
    else:
        _table(shown, tz)


def render(ctx: ModuleContext, role: str) -> None:
    """Filters, then the self-refreshing status."""
    st.title("Live status")
    frame = live_frame(ctx)
    filters = st.columns([2, 2, 2, 1])
    clients = filters[0].multiselect("Client", options_of(frame, "client"), key="live-client")
    locations = filters[1].multiselect("Location", options_of(frame, "location"), key="live-location")
    statuses = filters[2].multiselect("Status", STATUSES, key="live-status")
    view = filters[3].segmented_control("View", ["Table", "Cards"], default="Table", key="live-view") or "Table"
    _live_body(ctx, clients, locations, statuses, view)
