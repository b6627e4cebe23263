"""Monthly energy review and a what-if tariff study, on the configured database (marimo notebook).

Open it with ``nxforge notebook consumption`` (``marimo edit``), or run it headless with
``python notebooks/consumption.py``. The numbers come from the consumption monitor's query
functions: energy per endpoint per day over the Parquet archive and the recent database (DuckDB).
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import os
    from datetime import date, timedelta
    from pathlib import Path

    import marimo as mo
    import polars as pl

    os.environ.setdefault("NXFORGE_MODULES_DIR", str(Path(__file__).resolve().parents[1] / "modules"))
    from nxforge.platform import Platform

    return Platform, date, mo, pl, timedelta


@app.cell
def _(Platform):
    from nxforge.module_system.loading import mount_modules

    platform = Platform()
    mount_modules(platform.env.modules_dir)  # module code is imported as nxforge_modules.<package>
    from nxforge_modules.consumption_monitor.archive import archive_dir, energy_per_month
    from nxforge_modules.consumption_monitor.queries import live_status
    from nxforge_modules.consumption_monitor.settings import MonitorSettings

    ctx = platform.context("consumption-monitor")
    settings = MonitorSettings.from_context(ctx)
    tz = settings.timezone
    now = ctx.clock()
    endpoints = live_status(ctx.db, now, settings.max_stale_s, include_retired=True).select(
        "endpoint_id", "name", "client", "feed"
    )
    return archive_dir, ctx, endpoints, energy_per_month, now, tz


@app.cell
def _(mo):
    months_back = mo.ui.slider(2, 36, value=13, label="Months shown")
    months_back  # noqa: B018 (a cell shows its last expression)
    return (months_back,)


@app.cell
def _(archive_dir, ctx, date, endpoints, energy_per_month, months_back, now, pl, timedelta, tz):
    _today = now.astimezone(tz).date()
    _first = date(_today.year, _today.month, 1)
    for _ in range(months_back.value - 1):
        _first = (_first - timedelta(days=1)).replace(day=1)
    monthly = energy_per_month(ctx.db, archive_dir(ctx.storage), endpoints["endpoint_id"].to_list(),
                               _first, _today, tz).join(endpoints, on="endpoint_id", how="left")
    per_client = (
        monthly.group_by("client", "month").agg(pl.col("kwh").sum().round(1)).sort("month", "client")
        .pivot(on="month", index="client", values="kwh", sort_columns=True)
    )
    per_client.columns = [c if c == "client" else c[:7] for c in per_client.columns]
    _months, _month = [], _first  # every month shown, blank while it has no readings yet (a month's first hours)
    while _month <= _today:
        _months.append(_month.strftime("%Y-%m"))
        _month = (_month + timedelta(days=32)).replace(day=1)
    per_client = per_client.with_columns(
        pl.lit(None, pl.Float64).alias(m) for m in _months if m not in per_client.columns).select("client", *_months)
    return monthly, per_client


@app.cell
def _(mo, per_client):
    mo.vstack([mo.md("## Energy per client per month (kWh)"), mo.ui.table(per_client, selection=None)])
    return


@app.cell
def _(mo, monthly, now, pl, timedelta, tz):
    _this = now.astimezone(tz).date().replace(day=1)
    last_month = (_this - timedelta(days=1)).replace(day=1)
    _before = (last_month - timedelta(days=1)).replace(day=1)
    _year_ago = last_month.replace(year=last_month.year - 1)

    def _month(when):
        return monthly.filter(pl.col("month") == when).select("endpoint_id", pl.col("kwh"))

    review = (
        _month(last_month).rename({"kwh": "kWh last month"})
        .join(_month(_before).rename({"kwh": "kWh month before"}), on="endpoint_id", how="left")
        .join(_month(_year_ago).rename({"kwh": "kWh a year before"}), on="endpoint_id", how="left")
        .join(monthly.select("endpoint_id", "client", "feed").unique(), on="endpoint_id", how="left")
        .with_columns(
            ((pl.col("kWh last month") / pl.col("kWh month before") - 1) * 100).round(1).alias("vs month before (%)"),
            ((pl.col("kWh last month") / pl.col("kWh a year before") - 1) * 100).round(1).alias("vs a year before (%)"),
        )
        .sort("kWh last month", descending=True)
    )
    feeds = review.group_by("client", "feed").agg(pl.col("kWh last month").sum()).sort("client", "feed")
    mo.vstack([
        mo.md(f"## Top consumers, {last_month:%B %Y}"),
        mo.ui.table(review.head(20), selection=None),
        mo.md("### Feed balance (kWh per client and feed)"),
        mo.ui.table(feeds, selection=None),
    ])
    return (review,)


@app.cell
def _(mo):
    current_rate = mo.ui.number(0.0, 10.0, step=0.001, value=0.18, label="Current rate per kWh")
    new_rate = mo.ui.number(0.0, 10.0, step=0.001, value=0.21, label="New rate per kWh")
    overhead = mo.ui.number(1.0, 3.0, step=0.01, value=1.0, label="Overhead factor (PUE)")
    mo.vstack([mo.md("## What-if tariff"), mo.hstack([current_rate, new_rate, overhead])])
    return current_rate, new_rate, overhead


@app.cell
def _(current_rate, mo, monthly, new_rate, overhead, pl):
    what_if = (
        monthly.group_by("client").agg(pl.col("kwh").sum().alias("kWh"))
        .with_columns(
            (pl.col("kWh") * overhead.value * current_rate.value).round(2).alias("at current rate"),
            (pl.col("kWh") * overhead.value * new_rate.value).round(2).alias("at new rate"),
        )
        .with_columns((pl.col("at new rate") - pl.col("at current rate")).alias("difference"))
        .sort("difference", descending=True)
    )
    mo.vstack([mo.md("Amounts over the months shown, per client:"), mo.ui.table(what_if, selection=None)])
    return (what_if,)


if __name__ == "__main__":
    app.run()
