"""Live status for the person responsible for the room: power and load against each circuit's rating,
racks with both feeds side by side and the A/B check, refreshed on its own.

Good at 1,000 endpoints: one query for status, one cached billing call for month to date, one
dataframe (cards only for a filtered handful). The table part is a fragment that reruns alone.
Numbers are shown through the sdk's formatting (separators, units, an em dash for nothing).
"""

from __future__ import annotations

import logging

import polars as pl
import streamlit as st

from nxforge.sdk import ModuleContext, kw, kwh, local_time, percent, plain, status_hex

from ..loads import endpoint_loads, rack_loads
from ..pages._shared import (
    cached_live,
    cached_month_to_date,
    database_key,
    load_thresholds,
    minute_now,
    options_of,
    settings_of,
)

log = logging.getLogger(__name__)

REFRESH_S = 30
MAX_CARDS = 48
STATUSES = ["ok", "stale", "failing", "never", "disabled"]
VIEWS = ["Table", "Racks", "Cards"]


def dot(word: str | None) -> str:
    """A status or load level as a table shows it (its colour comes from ``_show``)."""
    return word or "—"


def _show(rows: list[dict[str, object]], colours: dict[str, list[str]]) -> None:
    """A table of display strings; the named columns' cells become labels coloured by a status word per row.

    Coloured labels are Streamlit's read-only multiselect column (a one-item list per cell), not a
    pandas Styler: the Styler renders every cell of the table, about half a second at 1,000 rows,
    which a Live page at that size cannot afford. A text shown with two words (a load rounded to
    the same percent on both sides of a threshold) takes the colour of its first row. No Markdown.
    """
    table = pl.DataFrame(rows, infer_schema_length=None)
    config = {}
    for column, words in colours.items():
        colour_of: dict[str, str] = {}
        for text, word in zip(table[column].to_list(), words, strict=True):
            colour_of.setdefault(text, status_hex(word))
        table = table.with_columns(pl.concat_list(pl.col(column)).alias(column))
        config[column] = st.column_config.MultiselectColumn(
            column, options=list(colour_of), color=list(colour_of.values()), disabled=True)
    st.dataframe(table, hide_index=True, column_config=config)


def live_frame(ctx: ModuleContext) -> pl.DataFrame:
    """Status joined with month-to-date kWh and load against the rating: what every view shows (for a client
    user only its own endpoints, so filters, A/B checks, counts and totals never see another client's)."""
    settings = settings_of(ctx)
    minute = minute_now(ctx)
    key = database_key(ctx.db)
    live = cached_live(ctx.db, key, minute, settings.max_stale_s, ctx.client)
    warn, alarm = load_thresholds(ctx)
    if live.is_empty():
        return endpoint_loads(live.with_columns(pl.lit(None, pl.Float64).alias("month_kwh")), warn, alarm)
    month = cached_month_to_date(ctx.db, key, minute, str(settings.timezone), settings.max_extrapolation_s,
                                 ctx.client)
    return endpoint_loads(live.join(month, on="endpoint_id", how="left"), warn, alarm)


def _filtered(frame: pl.DataFrame, clients: list[str], locations: list[str]) -> pl.DataFrame:
    if clients:
        frame = frame.filter(pl.col("client").is_in(clients))
    if locations:
        frame = frame.filter(pl.col("location").is_in(locations))
    return frame


def _load_text(pct: float | None, level: str | None = None) -> str:
    return "—" if pct is None else percent(pct)


def _table(frame: pl.DataFrame, ctx: ModuleContext) -> None:
    tz = settings_of(ctx).timezone
    rows = [
        {
            "Endpoint": row["endpoint_id"], "Name": row["name"] or "—", "Client": row["client"] or "—",
            "Location": row["location"] or "—", "Feed": row["feed"] or "—", "Status": dot(row["status"]),
            "Power": kw(row["power_kw"]) + (" (derived)" if row["power_source"] == "derived" else ""),
            "Rating": kw(row["circuit_max_kw"], 1), "Load": _load_text(row["load_pct"], row["level"]),
            "Month to date": kwh(row["month_kwh"]), "Counter": kwh(row["corrected_kwh"]),
            "Last good read": local_time(row["last_success_at"], tz) or "never",
            "Error": ": ".join(p for p in (row["last_error_class"], row["last_error"]) if p) or "",
        }
        for row in frame.iter_rows(named=True)
    ]  # fmt: skip
    _show(rows, {"Status": frame["status"].to_list(), "Load": frame["level"].to_list()})


def _racks(frame: pl.DataFrame, ctx: ModuleContext) -> None:
    warn, alarm = load_thresholds(ctx)
    racks = rack_loads(frame, warn, alarm)
    flagged = int(racks["ab_flag"].sum()) if not racks.is_empty() else 0
    rows = [
        {
            "Room": row["room"] or "—", "Row": row["row"] or "—", "Rack": row["rack"] or "—",
            "Feed A": kw(row["a_kw"]), "A load": _load_text(row["a_load_pct"], _level(row["a_load_pct"], warn, alarm)),
            "Feed B": kw(row["b_kw"]), "B load": _load_text(row["b_load_pct"], _level(row["b_load_pct"], warn, alarm)),
            "A+B": kw(row["total_kw"]), "A+B on one feed": _load_text(row["ab_load_pct"], row["level"]),
            "A/B check": "one feed cannot carry it" if row["ab_flag"] else (
                "—" if row["ab_load_pct"] is None else "ok"),
        }
        for row in racks.iter_rows(named=True)
    ]  # fmt: skip
    st.caption(f"{racks.height} rack(s), {flagged} flagged by the A/B check: their A+B load is more than the "
               f"weaker feed can carry alone. Load colours: warning from {warn:g} %, alarm from {alarm:g} %.")
    levels = racks.select(
        *[pl.col(f"{side}_load_pct").map_elements(lambda pct: _level(pct, warn, alarm), return_dtype=pl.String)
          .fill_null("unknown").alias(side) for side in ("a", "b")],
        pl.when(pl.col("ab_flag")).then(pl.lit("alarm")).when(pl.col("ab_load_pct").is_null()).then(pl.lit("unknown"))
        .otherwise(pl.lit("ok")).alias("check"), pl.col("level"))
    _show(rows, {"A load": levels["a"].to_list(), "B load": levels["b"].to_list(),
                 "A+B on one feed": levels["level"].to_list(), "A/B check": levels["check"].to_list()})


def _level(pct: float | None, warn: float, alarm: float) -> str:
    if pct is None:
        return "unknown"
    return "alarm" if pct >= alarm else "warning" if pct >= warn else "ok"


def _cards(frame: pl.DataFrame) -> None:
    if frame.height > MAX_CARDS:
        st.info(f"{frame.height} endpoints: showing the first {MAX_CARDS} as cards. Filter, or use the table.")
    columns = st.columns(4)
    for index, row in enumerate(frame.head(MAX_CARDS).iter_rows(named=True)):
        with columns[index % 4].container(border=True):
            st.text(f"{row['name'] or row['endpoint_id']} · {dot(row['status'])}")
            st.text(f"{row['client'] or '—'} · {row['location'] or '—'}")
            st.metric("Month to date", kwh(row["month_kwh"]))
            load = _load_text(row["load_pct"], row["level"])
            st.text(f"{kw(row['power_kw'])} · {load} of {kw(row['circuit_max_kw'], 1)}")
            if row["last_error_class"]:
                st.text(f"Error: {row['last_error_class']}")


@st.fragment(run_every=REFRESH_S)
def _live_body(ctx: ModuleContext, clients: list[str], locations: list[str], statuses: list[str], view: str) -> None:
    frame = live_frame(ctx)
    tz = str(settings_of(ctx).timezone)
    scoped = _filtered(frame, clients, locations)
    counts = dict(scoped.group_by("status").len().iter_rows()) if not scoped.is_empty() else {}
    columns = st.columns(len(STATUSES) + 1)
    for column, status in zip(columns[:-1], STATUSES, strict=True):
        column.metric(status, counts.get(status, 0), border=True)
    total_kw = float(scoped["power_kw"].sum()) if not scoped.is_empty() else None
    columns[-1].metric("Power now", kw(total_kw, 1))
    shown = scoped.filter(pl.col("status").is_in(statuses)) if statuses else scoped
    st.caption(f"{shown.height} of {frame.height} endpoint(s) · refreshed every {REFRESH_S} s · times in {plain(tz)}")
    if shown.is_empty():
        st.info("No endpoint matches. Clear a filter, or add endpoints on the Endpoints page.")
    elif view == "Cards":
        _cards(shown)
    elif view == "Racks":
        _racks(shown, ctx)
    else:
        _table(shown, ctx)


def render(ctx: ModuleContext, role: str) -> None:
    """Filters, then the self-refreshing status."""
    st.title("Live status")
    frame = live_frame(ctx)
    filters = st.columns([2, 2, 2, 2])
    clients: list[str] = []
    if ctx.client is None:  # a client user sees one client: nothing to choose
        clients = filters[0].multiselect("Client", options_of(frame, "client"), key="live-client")
    locations = filters[1].multiselect("Location", options_of(frame, "location"), key="live-location")
    statuses = filters[2].multiselect("Status", STATUSES, key="live-status")
    view = filters[3].segmented_control("View", VIEWS, default="Table", key="live-view") or "Table"
    _live_body(ctx, clients, locations, statuses, view)
