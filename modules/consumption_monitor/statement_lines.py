"""Statement lines: one row per line of a client's bill, each saying which term produced it and how.

This is the one computation statements, downloads and the Reports page are made of (the contract
is ``statement_lines``'s docstring). Energy lines come from ``segments`` (a month cut where the
client or the tariff changes) and carry their coverage: the counter at both ends and how each
was obtained, hours covered by readings, estimated kWh. Contract terms add lines: time-of-use
windows, overage above a committed power (per kWh or per kW of peak), a fixed fee per circuit.
Amounts are Decimal, rounded per line; a total is the sum of its lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine

from .billing_settings import BillingSettings
from .coverage import add_coverage
from .periods import Period, month_period, resolve_period
from .segments import UNASSIGNED, assignments_of, endpoints_of, prefetch, segment_frame
from .terms import ClientTerms, decimal_of, money
from .terms_lines import term_lines

QUANTITY, PRICE, MONEY = pl.Decimal(38, 3), pl.Decimal(38, 6), pl.Decimal(38, 2)
LINE_SCHEMA: dict[str, Any] = {
    "client": pl.String, "client_name": pl.String, "endpoint_id": pl.String, "term": pl.String,
    "description": pl.String, "period_start": pl.Datetime("us", "UTC"), "period_end": pl.Datetime("us", "UTC"),
    "quantity": QUANTITY, "unit": pl.String, "unit_price": PRICE, "currency": pl.String, "amount": MONEY,
    "overhead_factor": PRICE,  # as line_contract: the factor printed is the factor the amount was computed with
    "start_counter_kwh": pl.Float64, "end_counter_kwh": pl.Float64, "start_method": pl.String,
    "end_method": pl.String, "covered_hours": pl.Float64, "period_hours": pl.Float64,
    "estimated_kwh": pl.Float64, "estimated_share": pl.Float64, "resets": pl.Int64, "failed_reads": pl.Int64,
    "status": pl.String,
}
METHODS = {"exact": "reading", "interpolated": "interpolated", "extrapolated": "extrapolated", "held": "held",
           "none": "no data"}


def _stamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _method(method: str | None, origin: str | None) -> str:
    if origin == "opening":
        return "opening reading"
    return METHODS.get(method or "none", "no data")


def _day_span(start: float, end: float, tz: ZoneInfo) -> str:
    first = _stamp(start).astimezone(tz)
    last = (_stamp(end) - timedelta(microseconds=1)).astimezone(tz)
    return f"{first:%Y-%m-%d}..{last:%Y-%m-%d}"


def energy_line(segment: Mapping[str, Any], terms: ClientTerms | None, tz: ZoneInfo, period: Period,
                quantity_kwh: float | None, rate: float | None, term: str = "energy", what: str = "Energy"
                ) -> dict[str, Any]:
    """One energy (or time-of-use) line of a segment, with its coverage and how it was obtained."""
    quantity = decimal_of(quantity_kwh, 3)
    declared = Decimal(str(segment["overhead_factor"] or 1.0))
    factor = decimal_of(declared, 6) or Decimal(1)  # the line's precision, so quantity x price x factor = amount
    currency = segment["currency"] or (terms.currency if terms else "")
    price = decimal_of(rate, 6)
    amount = money(quantity * factor * price, currency) if quantity is not None and price is not None else None
    status = "no data" if segment["kwh"] is None else ("to date" if period.to_date else "ok")
    notes = [f"{what} {_day_span(segment['s'], segment['e'], tz)}"]
    if terms is not None and terms.tariffs:
        since = _stamp(segment["tariff_from"]).astimezone(tz)
        notes.append(f"tariff from {since:%Y-%m-%d}" if since.year > 1970 else "first tariff")
    if factor != 1:
        notes.append(f"x overhead factor {declared if declared == factor else factor}")
    notes += segment.get("notes") or []
    if status == "no data":
        notes.append("no data: no reading in or around the period")
    return {
        "client": segment["client"], "client_name": terms.label if terms else segment["client"],
        "endpoint_id": segment["endpoint_id"], "term": term, "description": ", ".join(notes),
        "period_start": _stamp(segment["s"]), "period_end": _stamp(segment["e"]),
        "quantity": quantity, "unit": "kWh", "unit_price": price, "currency": currency, "amount": amount,
        "overhead_factor": factor,
        "start_counter_kwh": segment["c_s"], "end_counter_kwh": segment["c_e"],
        "start_method": _method(segment["method_s"], segment["origin_s"]),
        "end_method": _method(segment["method_e"], segment["origin_e"]),
        "covered_hours": segment["covered_hours"], "period_hours": segment["period_hours"],
        "estimated_kwh": segment["estimated_kwh"], "estimated_share": segment["estimated_share"],
        "resets": segment["resets_folded"], "failed_reads": segment["failed_reads"], "status": status,
    }


def _full_month(period: Period, tz: ZoneInfo) -> Period:
    """The calendar month of a running period (fees are per month, whatever the day)."""
    if period.month is None or not period.to_date:
        return period
    year, number = period.month
    far = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(days=62)
    return month_period(f"{year:04d}-{number:02d}", tz, far)


def statement_lines(engine: Engine, month: str | Period, tz: ZoneInfo, at: datetime, *,
                    clients: Mapping[str, ClientTerms], settings: object | None = None,
                    client: str | None = None) -> pl.DataFrame:
    """One row per statement line for ``month`` (``YYYY-MM`` in ``tz``), computed at the one instant ``at``.

    Columns: client, client_name, endpoint_id ("" for client-level lines), term ("energy",
    "tou:<window>", "overage_kwh", "overage_peak_kw", "fixed_fee"), description, period_start,
    period_end (UTC), quantity (Decimal, 3 places), unit, unit_price (Decimal, 6), currency, amount
    (Decimal, 2; rounded per line), overhead_factor, and on energy/tou lines the coverage:
    start/end counter and method ("reading", "interpolated", "extrapolated", "held", "opening
    reading", "no data"), covered_hours of period_hours, estimated_kwh and share, resets,
    failed_reads; status "ok", "no data" or "to date". ``settings``: BillingSettings (or the
    module's MonitorSettings, for max_extrapolation only). ``client``: only that client's lines.
    """
    config = BillingSettings.of(settings)
    period = resolve_period(month, tz, at)
    with engine.connect() as conn:
        assignments = assignments_of(conn)
        info = endpoints_of(conn, period)
        ids = info["endpoint_id"].to_list()
        if client is not None:
            ids = [i for i in ids if any(name == client for _, name in assignments.get(i, []))]
        cache: dict[Any, pl.DataFrame] = {}
        prefetch(conn, [period.start, period.end], config.max_extrapolation_s, cache)
        segments, points = segment_frame(conn, period, ids, assignments, config.max_extrapolation_s, clients, tz,
                                         cache)
        if client is not None:
            segments = segments.filter(pl.col("client") == client)
        if segments.is_empty() or points.is_empty():
            return pl.DataFrame(schema=LINE_SCHEMA)
        segments = add_coverage(conn, segments, period, config, tz)
        return lines_of_segments(conn, segments, clients, tz, period, config)


def lines_of_segments(conn: Connection, segments: pl.DataFrame, clients: Mapping[str, ClientTerms], tz: ZoneInfo,
                      period: Period, config: BillingSettings) -> pl.DataFrame:
    """The statement lines of segments (coverage added): also what the billing tables sum, so they agree."""
    rows = term_lines(conn, segments, clients, tz, period, _full_month(period, tz), config, energy_line)
    frame = pl.DataFrame(rows, schema=LINE_SCHEMA)
    return frame.sort(["client", "endpoint_id", "period_start", "term"])


__all__ = ["LINE_SCHEMA", "UNASSIGNED", "lines_of_segments", "statement_lines"]
