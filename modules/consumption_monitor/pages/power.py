"""Power: kW over a free date range per endpoint, read where the meter gives it and derived from the
corrected counter otherwise, with each circuit's rating as a line in the endpoint's own colour. A client
user's page asks every query for its own endpoints only."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from nxforge.sdk import ModuleContext, chart_text, kw, parse_duration

from ..energy_queries import power_series
from ..pages._charts import colour_of, date_range, local_times, mark_events, time_layout
from ..pages._shared import live_of, settings_of
from ..queries import event_readings


def with_gaps(series: pl.DataFrame, gap_s: float) -> pl.DataFrame:
    """A null point after each interval longer than ``gap_s``, so the line breaks where readings stop."""
    gaps = series.filter((pl.col("at").shift(-1) - pl.col("at")).dt.total_seconds() > gap_s)
    breaks = gaps.with_columns((pl.col("at") + pl.duration(seconds=1)).alias("at"), pl.lit(None, pl.Float64)
                               .alias("kw"))
    return pl.concat([series, breaks]).sort("at")


def render(ctx: ModuleContext, role: str) -> None:
    """Pick endpoints and dates, then the power lines with ratings, gaps and events."""
    settings = settings_of(ctx)
    tz = settings.timezone
    st.title("Power")
    live = live_of(ctx)
    if live.is_empty():
        st.info("No endpoint yet: add some on the Endpoints page and let the collector read them.")
        return
    pick, dates = st.columns([3, 2])
    ids = pick.multiselect("Endpoints", live["endpoint_id"].to_list(), default=live["endpoint_id"].head(2).to_list(),
                           key="power-endpoints")
    with dates:
        first, last = date_range("power-dates", ctx.clock().astimezone(tz).date())
    if not ids:
        st.info("Choose at least one endpoint.")
        return
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    series = power_series(ctx.db, ids, start, end, client=ctx.client)
    gap_s = parse_duration(str(ctx.settings.get("gap_after", "1h")))
    figure = go.Figure()
    ratings = dict(live.select("endpoint_id", "circuit_max_kw").iter_rows())
    for endpoint_id in ids:
        rows = with_gaps(series.filter(pl.col("endpoint_id") == endpoint_id), gap_s)
        colour = colour_of(endpoint_id, live["endpoint_id"].to_list())
        figure.add_trace(go.Scatter(x=local_times(rows["at"], tz), y=rows["kw"].to_list(),
                                    name=chart_text(endpoint_id),
                                    mode="lines", line={"color": colour}, connectgaps=False,
                                    customdata=rows["source"].fill_null("").to_list(),
                                    hovertemplate="%{y:.2f} kW (%{customdata})"))
        rating = ratings.get(endpoint_id)
        if rating:
            figure.add_hline(y=rating, line_dash="dash", line_color=colour, annotation_text=chart_text(
                             f"{endpoint_id} rating {kw(rating, 1)}"), annotation_position="top left")
    mark_events(figure, event_readings(ctx.db, ids, start, end, client=ctx.client), tz)
    st.plotly_chart(time_layout(figure, tz, "kW"), key="power-chart")
    derived = series.filter(pl.col("source") == "derived").height
    st.caption(f"{series.height} point(s), {derived} derived from the counter where the meter gives no power; "
               f"dashed horizontal lines are circuit ratings; breaks are gaps over {gap_s / 60:g} min.")
