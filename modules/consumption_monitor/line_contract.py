"""Statement lines as one frame shape: the contract with ``billing.statement_lines``, its canonical
text (what a statement's SHA-256 digest covers) and the live source that computes them.

Every output (screen, CSV, XLSX, PDF, accounting CSV, dispute pack, CLI) starts from a frame of
this shape, frozen from the database for a closed month or computed at one instant for an open
one, so they cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl

UTC_DATETIME = pl.Datetime("us", "UTC")
LINE_SCHEMA: dict[str, Any] = {
    "client": pl.String, "client_name": pl.String, "endpoint_id": pl.String, "term": pl.String,
    "description": pl.String, "period_start": UTC_DATETIME, "period_end": UTC_DATETIME,
    "quantity": pl.Decimal(38, 3), "unit": pl.String, "unit_price": pl.Decimal(38, 6), "currency": pl.String,
    "amount": pl.Decimal(38, 2), "overhead_factor": pl.Decimal(38, 6),
    "start_counter_kwh": pl.Float64, "end_counter_kwh": pl.Float64, "start_method": pl.String,
    "end_method": pl.String, "covered_hours": pl.Float64, "period_hours": pl.Float64,
    "estimated_kwh": pl.Float64, "estimated_share": pl.Float64, "resets": pl.Int64, "failed_reads": pl.Int64,
    "status": pl.String,
    "adjusts": pl.String,  # an adjustment line: the number of the closed statement it corrects
}  # fmt: skip
LINE_COLUMNS = list(LINE_SCHEMA)
DECIMAL_COLUMNS = ("quantity", "unit_price", "amount", "overhead_factor")
TERM_ORDER = {"energy": 0, "overage_kwh": 2, "overage_peak_kw": 3, "fixed_fee": 4, "adjustment": 9}

LineSource = Callable[[str, datetime, "str | None"], pl.DataFrame]
"""(month ``YYYY-MM``, the one instant, client or None) -> the month's live statement lines."""


def empty_lines() -> pl.DataFrame:
    """A frame of statement lines with no rows."""
    return pl.DataFrame(schema=LINE_SCHEMA)


def normalized(frame: pl.DataFrame) -> pl.DataFrame:
    """The contract's columns in the contract's order and types, rows in a stable order."""
    if frame.width == 0:
        return empty_lines()
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in LINE_SCHEMA.items() if name not in frame.columns]
    frame = frame.with_columns(missing) if missing else frame
    frame = frame.select(pl.col(name).cast(dtype) for name, dtype in LINE_SCHEMA.items())
    order = pl.col("term").replace_strict(TERM_ORDER, default=1, return_dtype=pl.Int32)
    return frame.with_columns(order.alias("_order")).sort(
        ["client", "_order", "endpoint_id", "period_start", "term"], nulls_last=True, maintain_order=True
    ).drop("_order")


def _canonical_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def canonical_text(lines: pl.DataFrame, *, ordered: bool = False) -> str:
    """One JSON array per line, columns in contract order: the exact text a digest is taken over.
    ``ordered``: the frame is already ``normalized`` (skips sorting it again)."""
    return "\n".join(
        json.dumps([_canonical_value(value) for value in row], separators=(",", ":"), ensure_ascii=False)
        for row in (lines if ordered else normalized(lines)).iter_rows()
    )


def digest_of(lines: pl.DataFrame, *, ordered: bool = False) -> str:
    """SHA-256 (hex) of the canonical lines."""
    return hashlib.sha256(canonical_text(lines, ordered=ordered).encode("utf-8")).hexdigest()


def is_energy(term: pl.Expr) -> pl.Expr:
    """Lines that bill metered kWh (energy and time-of-use windows)."""
    return (term == "energy") | term.str.starts_with("tou:")
