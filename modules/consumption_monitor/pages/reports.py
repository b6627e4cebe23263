"""Billing reports (finance): a month's table per endpoint and per client, how each figure was
obtained, the change from the previous month, and the same CSV/XLSX files ``nxforge billing`` writes."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from nxforge.sdk import ConfigError, ModuleContext

from ..billing import billing_by_client, billing_by_endpoint
from ..cli import billing_table_bytes
from ..config import load_endpoints
from ..pages._shared import settings_of
from ..periods import PeriodError

MONTHS_BACK = 24
HOW_OBTAINED = ["readings_used", "first_reading_at", "last_reading_at", "start_method", "end_method",
                "estimated_share", "resets_folded", "failed_reads", "to_date"]  # fmt: skip


def month_choices(today: date, count: int = MONTHS_BACK) -> list[str]:
    """``YYYY-MM`` of this month and the ``count - 1`` before it, newest first."""
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _clients(ctx: ModuleContext) -> dict[str, Any]:
    try:
        return dict(load_endpoints(ctx.config_dir).clients)
    except ConfigError as exc:
        st.warning(f"The endpoint YAML has problems, so prices are left out until it is fixed:\n\n{exc}")
        return {}


def _downloads(ctx: ModuleContext, month: str, by: str) -> None:
    left, right = st.columns(2)
    for column, fmt, mime in (
        (left, "csv", "text/csv"),
        (right, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        column.download_button(
            f"Download {fmt.upper()} ({by})",
            data=billing_table_bytes(ctx, month, by, fmt),
            file_name=f"billing-{month}-by-{by}.{fmt}",
            mime=mime,
            key=f"download-{by}-{fmt}",
            on_click="ignore",
        )


def render(ctx: ModuleContext, role: str) -> None:
    """Month picker, the two tables with their downloads."""
    settings = settings_of(ctx)
    tz = settings.timezone
    st.title("Billing reports")
    now = ctx.clock()
    month = st.selectbox("Month", month_choices(now.astimezone(tz).date()), key="report-month")
    clients = _clients(ctx)
    try:
        by_endpoint = billing_by_endpoint(
            ctx.db, month, tz, now, clients=clients, max_extrapolation_s=settings.max_extrapolation_s
        )
        by_client = billing_by_client(
            ctx.db, month, tz, now, clients=clients, max_extrapolation_s=settings.max_extrapolation_s
        )
    except PeriodError as exc:
        st.error(str(exc))
        return
    running = not by_endpoint.is_empty() and bool(by_endpoint["to_date"].cast(pl.Boolean).any())
    st.caption(
        f"Calendar month in {tz}; consumption is interpolated at the month boundaries."
        + (" **This month is still running: figures are to date.**" if running else "")
    )
    total = float(by_endpoint["kwh"].cast(pl.Float64).sum()) if not by_endpoint.is_empty() else 0.0
    previous = float(by_endpoint["previous_month_kwh"].cast(pl.Float64).sum()) if not by_endpoint.is_empty() else 0.0
    first, second, third = st.columns(3)
    first.metric("Total kWh", f"{total:,.1f}", delta=f"{total - previous:,.1f} vs previous month" if previous else None)
    second.metric("Endpoints", by_endpoint.height)
    third.metric("Clients", by_client.height)
    client_tab, endpoint_tab = st.tabs(["Per client", "Per endpoint"])
    with client_tab:
        st.dataframe(by_client, hide_index=True)
        _downloads(ctx, month, "client")
    with endpoint_tab:
        st.dataframe(by_endpoint, hide_index=True, column_order=["endpoint_id", "name", "client", "kwh",
                     "previous_month_kwh", "change", "amount", *HOW_OBTAINED])  # fmt: skip
        _downloads(ctx, month, "endpoint")
