"""Billing reports (finance): months with their state, each client's statement, Close (finance) and
Reopen (admin), and every download (PDF, XLSX, accounting CSV, dispute pack, the billing table).

The page reads the clock once per rerun: the month is served once at that instant (a closed month
from its frozen statements), and every table and download on the page is made from that one
result, so what finance sees is what it downloads.

A client user (``ctx.client`` set) is served its own statements only (the query takes the client),
sees its statements and lines, and downloads its own PDF and XLSX: no per-endpoint billing table of
the site, no close or reopen, no accounting export or dispute pack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from nxforge.sdk import ModuleContext, plain

from ..cli import billing_frame, frame_bytes
from ..periods import PeriodError
from ..reporting import XLSX_MIME, StatementSettings, month_statements
from ..statements import MonthState, Statement, StatementError, lines_of, month_states
from ._report_tables import line_table, statement_table
from ._reports_actions import close_form, downloads, reopen_form
from ._shared import settings_of

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


def _metrics(statements: list[Statement], state: MonthState) -> None:
    energy = sum((item.total_kwh for item in statements), start=0)
    amounts: dict[str, Any] = {}
    for item in statements:
        amounts[item.currency] = amounts.get(item.currency, 0) + item.total_amount
    first, second, third, fourth = st.columns(4)
    first.metric("Energy (kWh)", f"{energy:,.3f}")
    second.metric("Amount", " + ".join(f"{value:,.2f} {currency}" for currency, value in amounts.items()) or "-")
    third.metric("Statements", len(statements))
    fourth.metric("State", state.label)


def _table_file(ctx: ModuleContext, table: pl.DataFrame, fmt: str, sheet: str) -> Callable[[], bytes]:
    """The table's file, made when the button is clicked."""
    return lambda: frame_bytes(ctx, table, fmt, sheet)


def _endpoint_tab(ctx: ModuleContext, month: str, now: datetime, served: tuple[MonthState, list[Statement]]) -> None:
    state = served[0]
    table = billing_frame(ctx, month, "endpoint", now, served)
    if state.closed:
        st.caption("A closed month is served from its statements: these are their lines.")
        st.dataframe(table, hide_index=True)
    else:
        st.dataframe(table, hide_index=True, column_order=["endpoint_id", "name", "client", "kwh",
                     "previous_month_kwh", "change", "amount", *HOW_OBTAINED])  # fmt: skip
    left, right = st.columns(2)
    for column, fmt, mime in ((left, "csv", "text/csv"), (right, "xlsx", XLSX_MIME)):
        column.download_button(
            f"Download {fmt.upper()} (endpoint)",
            data=_table_file(ctx, table, fmt, f"{month} by endpoint"),
            file_name=f"billing-{month}-by-endpoint.{fmt}", mime=mime, key=f"download-endpoint-{fmt}",
            on_click="ignore",
        )  # fmt: skip


def render(ctx: ModuleContext, role: str) -> None:
    """Month picker with states, the month's statements and lines, close/reopen and downloads."""
    tz = settings_of(ctx).timezone
    st.title("Billing reports")
    now = ctx.clock()  # the one instant of this rerun
    months = month_choices(now.astimezone(tz).date())
    states = month_states(ctx.db, months, tz, now)
    month = st.selectbox("Month", months, key="report-month",
                         format_func=lambda m: f"{m} - {states[m].label}")
    try:
        state, statements = month_statements(ctx, month, now, client=ctx.client)
    except (PeriodError, StatementError) as exc:
        st.error(plain(exc))
        return
    settings = StatementSettings.from_context(ctx)
    running = " **Still running: figures are to date and will change.**" if state.state == "running" else ""
    closed = (f" Closed by {plain(state.closed_by)} on {state.closed_at.astimezone(tz):%Y-%m-%d %H:%M} (site "
              "time); served from the frozen statements." if state.closed and state.closed_at else "")
    st.caption(f"Calendar month in {plain(tz)}; consumption is interpolated at the month boundaries.{running}{closed}")
    _metrics(statements, state)
    if ctx.client is not None:  # a client's own statements and lines, nothing of the site
        statements_tab, lines_tab = st.tabs(["Statements", "Lines"])
        with statements_tab:
            statement_table(statements, tz)
            downloads(ctx, month, statements, now)
        with lines_tab:
            line_table(lines_of(statements), tz)
        return
    statements_tab, lines_tab, endpoint_tab = st.tabs(["Statements", "Lines", "Per endpoint"])
    with statements_tab:
        statement_table(statements, tz)
        downloads(ctx, month, statements, now)
        if role in ("finance", "admin"):
            close_form(ctx, month, state, statements, now, settings)
        if role == "admin":
            reopen_form(ctx, month, state, role)
    with lines_tab:
        line_table(lines_of(statements), tz)
    with endpoint_tab:
        _endpoint_tab(ctx, month, now, (state, statements))
