"""The Reports page's actions: downloads made from the statements on screen, Close and Reopen."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from nxforge.sdk import ModuleContext, plain

from ..reporting import OUTPUTS, StatementSettings, file_name, render, source_for
from ..settings import MonitorSettings
from ..statements import CloseRefused, MonthState, Statement, StatementError, close_month, reopen_month

LABELS = {"pdf": "PDF", "xlsx": "XLSX", "accounting": "Accounting CSV", "dispute": "Dispute pack"}


def _button(ctx: ModuleContext, column: object, label: str, fmt: str, month: str, chosen: list[Statement],
            client: str | None, now: datetime, key: str) -> None:
    """A download rendered on click from statements already served (figures are never recomputed)."""
    column.download_button(  # type: ignore[attr-defined]
        label, data=lambda: render(ctx, chosen, fmt, now), file_name=file_name(month, fmt, chosen, client),
        mime=OUTPUTS[fmt][1], key=key, on_click="ignore",
    )


def downloads(ctx: ModuleContext, month: str, statements: list[Statement], now: datetime) -> None:
    """All clients (PDF, XLSX, accounting CSV) and one client (those and its dispute pack); a client user:
    its own statement's PDF and XLSX only."""
    if not statements:
        return
    st.subheader("Downloads")
    if ctx.client is not None:
        own = [item for item in statements if item.client == ctx.client]
        for column, fmt in zip(st.columns(2), ("pdf", "xlsx"), strict=True):
            _button(ctx, column, f"{LABELS[fmt]} ({plain(ctx.client)})", fmt, month, own, ctx.client, now,
                    f"own-{fmt}")
        return
    columns = st.columns(3)
    for column, fmt in zip(columns, ("pdf", "xlsx", "accounting"), strict=True):
        _button(ctx, column, f"{LABELS[fmt]} (all clients)", fmt, month, statements, None, now, f"all-{fmt}")
    names = {item.client: f"{item.client_name} ({item.number})" for item in statements}
    client = st.selectbox("Client", list(names), format_func=names.__getitem__, key="report-client")
    chosen = [item for item in statements if item.client == client]
    for column, fmt in zip(st.columns(4), ("pdf", "xlsx", "accounting", "dispute"), strict=True):
        _button(ctx, column, f"{LABELS[fmt]} ({plain(client)})", fmt, month, chosen, client, now, f"one-{fmt}")


def close_form(ctx: ModuleContext, month: str, state: MonthState, statements: list[Statement], now: datetime,
               settings: StatementSettings) -> None:
    """Finance freezes the month (only a month that is over and not closed)."""
    if state.closed or state.state == "running" or not statements:
        return
    st.subheader("Close the month")
    over = [(item.client, row["endpoint_id"], row["estimated_share"]) for item in statements
            for row in item.lines.iter_rows(named=True)
            if row["estimated_share"] is not None and row["estimated_share"] > settings.max_estimated_share]
    if over:
        st.warning(f"{len(over)} line(s) are estimated over {settings.max_estimated_share:.0%}: "
                   + ", ".join(f"{plain(endpoint)} {share:.1%}" for _, endpoint, share in over[:10]))
    confirm = st.checkbox("I confirm the estimated shares", key="close-confirm") if over else False
    if st.button(f"Close {month}", key="close-month", type="primary"):
        tz = MonitorSettings.from_context(ctx).timezone
        who = ctx.user or "finance"
        try:
            closed = close_month(ctx.db, month, tz, ctx.clock(), source_for(ctx), who=who,
                                 max_estimated_share=settings.max_estimated_share, confirm_estimates=confirm,
                                 prefix=settings.prefix)
        except (CloseRefused, StatementError) as exc:
            st.error(plain(exc))
            return
        ctx.audit("billing.close", month, {"statements": [item.number for item in closed],
                                           "confirmed_estimates": confirm})
        ctx.notice("success", f"{month} closed: {len(closed)} statement(s) frozen.")
        st.rerun()


def reopen_form(ctx: ModuleContext, month: str, state: MonthState, role: str) -> None:
    """Admin only: reopen a closed month (audited); its next close makes a new version."""
    if not state.closed:
        return
    st.subheader("Reopen (admin)")
    reason = st.text_input("Why is the month reopened?", key="reopen-why")
    if st.button(f"Reopen {month}", key="reopen-month"):
        tz = MonitorSettings.from_context(ctx).timezone
        try:
            kept = reopen_month(ctx.db, month, tz, ctx.clock(), who=ctx.user or role, role=role,
                                reason=reason)
        except StatementError as exc:
            st.error(plain(exc))
            return
        ctx.audit("billing.reopen", month, {"why": reason, "kept_version": kept})
        ctx.notice("info", f"{month} reopened: version {kept} is kept, the next close makes version {kept + 1}.")
        st.rerun()
