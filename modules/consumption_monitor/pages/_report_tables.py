"""The Reports page's tables: statements and lines with human labels, units, currency and site times."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from ..statement_pdf import term_label
from ..statements import Statement

TIME = "YYYY-MM-DD HH:mm"


def _local(frame: pl.DataFrame, tz: ZoneInfo, *names: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(name).dt.convert_time_zone(str(tz)) for name in names)


def statements_frame(statements: list[Statement]) -> pl.DataFrame:
    """One row per statement, as shown (amounts as floats for display only; files keep the decimals)."""
    return pl.DataFrame(
        [{"number": s.number, "client": s.client_name, "state": "draft" if s.draft else f"closed v{s.version}",
          "kwh": float(s.total_kwh), "amount": float(s.total_amount), "currency": s.currency,
          "estimated_share": s.estimated_share, "lines": s.lines.height, "closed_at": s.closed_at,
          "closed_by": s.closed_by, "digest": s.digest} for s in statements],
        schema={"number": pl.String, "client": pl.String, "state": pl.String, "kwh": pl.Float64,
                "amount": pl.Float64, "currency": pl.String, "estimated_share": pl.Float64, "lines": pl.Int64,
                "closed_at": pl.Datetime("us", "UTC"), "closed_by": pl.String, "digest": pl.String},
    )


def statement_table(statements: list[Statement], tz: ZoneInfo) -> None:
    """The month's statements, one per client."""
    if not statements:
        st.info("No statement lines for this month: no endpoint was billed.")
        return
    currencies = sorted({s.currency for s in statements})
    amount_label = f"Amount ({currencies[0]})" if len(currencies) == 1 else "Amount"
    st.dataframe(_local(statements_frame(statements), tz, "closed_at"), hide_index=True, column_config={
        "number": "Statement", "client": "Client", "state": "State",
        "kwh": st.column_config.NumberColumn("Energy (kWh)", format="%.3f"),
        "amount": st.column_config.NumberColumn(amount_label, format="%.2f"), "currency": "Currency",
        "estimated_share": st.column_config.NumberColumn("Estimated share (%)", format="percent"),
        "lines": "Lines", "closed_at": st.column_config.DatetimeColumn(f"Closed ({tz})", format=TIME),
        "closed_by": "Closed by", "digest": "SHA-256 of the lines",
    })  # fmt: skip


def line_table(lines: pl.DataFrame, tz: ZoneInfo) -> None:
    """Every statement line with how it was obtained."""
    shown = _local(lines, tz, "period_start", "period_end").with_columns(
        pl.col("term").map_elements(term_label, return_dtype=pl.String),
        *(pl.col(name).cast(pl.Float64) for name in ("quantity", "unit_price", "amount", "overhead_factor")),
    )
    st.dataframe(shown, hide_index=True, column_config={
        "statement": "Statement", "client": None, "client_name": "Client", "endpoint_id": "Endpoint",
        "term": "Term", "description": "Description",
        "period_start": st.column_config.DatetimeColumn(f"From ({tz})", format=TIME),
        "period_end": st.column_config.DatetimeColumn(f"To ({tz})", format=TIME),
        "quantity": st.column_config.NumberColumn("Quantity", format="%.3f"), "unit": "Unit",
        "unit_price": st.column_config.NumberColumn("Unit price (per unit)", format="%.6f"),
        "currency": "Currency", "amount": st.column_config.NumberColumn("Amount", format="%.2f"),
        "overhead_factor": st.column_config.NumberColumn("Overhead factor", format="%.6f"),
        "start_counter_kwh": st.column_config.NumberColumn("Start counter (kWh)", format="%.3f"),
        "end_counter_kwh": st.column_config.NumberColumn("End counter (kWh)", format="%.3f"),
        "start_method": "Start obtained by", "end_method": "End obtained by",
        "covered_hours": st.column_config.NumberColumn("Covered (h)", format="%.1f"),
        "period_hours": st.column_config.NumberColumn("Period (h)", format="%.1f"),
        "estimated_kwh": st.column_config.NumberColumn("Estimated (kWh)", format="%.3f"),
        "estimated_share": st.column_config.NumberColumn("Estimated share (%)", format="percent"),
        "resets": "Resets", "failed_reads": "Failed reads", "status": "Status", "adjusts": "Adjusts statement",
    })  # fmt: skip
