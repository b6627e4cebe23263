"""Trends: the chosen sensors' readings over a free date range, with each kind's warning and critical limits.

One chart per unit (°C, %RH), so humidity never flattens the temperatures; a sensor keeps its
colour on every chart; times are the site's wall clock; each limit line says which kind, which
side, which level and the value. The limits table below names the kind and unit of every set.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from nxforge.sdk import MISSING, ModuleContext, chart_text, local_time, number, plain

from ..config import SensorInfo
from ..kinds import kind_label, measure, shown_unit
from ..pages import configured_sensors
from ..pages._charts import LEVEL_COLOURS, colour_of, date_range, local_times, time_layout
from ..queries import threshold_table, thresholds, trend, trend_export

GAP_S = 3600
"""A line breaks where a sensor has no reading for longer than this (a device down, a collector stopped)."""
LEVEL_DASH = {"warning": "dash", "critical": "dot"}


def with_gaps(series: pl.DataFrame, gap_s: float = GAP_S) -> pl.DataFrame:
    """A null point after each interval longer than ``gap_s``, so the line breaks where readings stop."""
    gaps = series.filter((pl.col("at").shift(-1) - pl.col("at")).dt.total_seconds() > gap_s)
    breaks = gaps.with_columns((pl.col("at") + pl.duration(seconds=1)).alias("at"),
                               pl.lit(None, pl.Float64).alias("value"))
    return pl.concat([series, breaks]).sort("at")


def limit_labels(sensors: list[SensorInfo]) -> list[tuple[float, str, str]]:
    """(limit, level, label) per distinct line: kinds sharing one limit share one label."""
    limits = thresholds(sensors)
    lines: dict[tuple[str, str, float, str], list[str]] = {}
    for row in limits.iter_rows(named=True):
        key = (row["direction"], row["level"], row["limit"], row["unit"])
        if kind_label(row["kind"]) not in lines.setdefault(key, []):
            lines[key].append(kind_label(row["kind"]))
    return [(limit, level, f"{', '.join(kinds)} {direction} {level} {number(limit, 1, unit)}")
            for (direction, level, limit, unit), kinds in lines.items()]


def _chart(frame: pl.DataFrame, sensors: list[SensorInfo], universe: list[str], unit: str, tz: ZoneInfo,
           window: tuple[datetime, datetime]) -> go.Figure:
    """The lines of ``sensors`` (all in ``unit``) and their limits, on the site's wall clock."""
    figure = go.Figure()
    for sensor in sensors:
        rows = with_gaps(frame.filter(pl.col("sensor_id") == sensor.id))
        figure.add_trace(go.Scatter(
            x=local_times(rows["at"], tz), y=rows["value"].to_list(), name=chart_text(sensor.name), mode="lines",
            line={"color": colour_of(sensor.id, universe)}, connectgaps=False,
            hovertemplate=f"%{{y:.1f}} {unit}",
        ))
    for limit, level, text in limit_labels(sensors):
        figure.add_hline(y=limit, line_dash=LEVEL_DASH[level], line_color=LEVEL_COLOURS[level], line_width=1.5,
                         annotation_text=chart_text(text), annotation_position="top left",
                         annotation_font_color=LEVEL_COLOURS[level])
    title = f"{measure(sensors[0].kind).capitalize()} ({unit})"
    time_layout(figure, tz, title).update_xaxes(range=[window[0].astimezone(tz), window[1].astimezone(tz)])
    return figure


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _limits_table(sensors: list[SensorInfo]) -> None:
    """Each kind's limits with their unit, and the sensors that share them."""
    table = threshold_table(sensors)
    rows = [
        {
            "kind": kind_label(row["kind"]), "unit": row["unit"], "sensors": row["sensors"],
            **{side: number(row[side], 1, row["unit"]) for side in ("high_warning", "high_critical", "low_warning",
                                                                     "low_critical")},
            "hysteresis": number(row["hysteresis"], 1, row["unit"]), "min_duration": _duration(row["min_duration_s"]),
        }
        for row in table.iter_rows(named=True)
    ]  # fmt: skip
    st.dataframe(pl.DataFrame(rows).to_pandas(), hide_index=True, column_config={
        "kind": "Kind", "unit": "Unit", "sensors": "Sensors", "high_warning": "High warning",
        "high_critical": "High critical", "low_warning": "Low warning", "low_critical": "Low critical",
        "hysteresis": st.column_config.TextColumn("Hysteresis", help="How far back past a limit a value must go to "
                                                  "leave it"),
        "min_duration": st.column_config.TextColumn("Min duration", help="How long a crossing must last to alert"),
    })  # fmt: skip


def render(ctx: ModuleContext, role: str) -> None:
    """Pick sensors and dates, then one chart per unit with its limits, then the limits table."""
    tz = ctx.timezone
    st.title("Temperature trends")
    sensors = configured_sensors(ctx)
    if not sensors:
        st.info(plain(f"No sensors configured: add YAML files under {ctx.config_dir}."))
        return
    by_id = {s.id: s for s in sensors}
    universe = list(by_id)
    pick, dates = st.columns([3, 2])
    chosen = pick.multiselect("Sensors", universe, default=universe[:3], key="tm-trend-sensors",
                              format_func=lambda i: f"{by_id[i].name} · {kind_label(by_id[i].kind)}")
    with dates:
        first, last = date_range("tm-trend-dates", ctx.clock().astimezone(tz).date())
    if not chosen:
        st.info("Choose at least one sensor.")
        return
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    frame = trend(ctx.db, chosen, start, end)
    picked = [by_id[i] for i in chosen]
    # temperatures first, then humidity: the same order whichever sensor was picked first
    units = sorted({shown_unit(s.kind, s.unit) for s in picked}, key=lambda u: (u == "%RH", u))
    for unit in units:
        group = [s for s in picked if shown_unit(s.kind, s.unit) == unit]
        st.plotly_chart(_chart(frame, group, universe, unit, tz, (start, end)), key=f"tm-trend-{unit}")
    st.caption(plain(f"{frame.height} reading(s) from {local_time(start, tz)} to {local_time(end, tz)} ({tz.key}); "
                     f"dashed lines are warning limits, dotted lines critical; breaks are gaps over "
                     f"{GAP_S // 60} min."))
    if frame.is_empty():
        st.info("No readings in these dates: choose other dates, or let the collector run.")
    else:
        st.download_button("Download CSV", trend_export(frame, picked, tz).write_csv(), key="tm-trend-csv",
                           file_name=f"temperatures-{first:%Y%m%d}-{last:%Y%m%d}.csv", mime="text/csv")
    st.subheader("Limits")
    _limits_table(picked)
    if not thresholds(picked).height:
        st.caption(f"{MISSING} These sensors have no limits: they are recorded and charted, never alerted on.")
