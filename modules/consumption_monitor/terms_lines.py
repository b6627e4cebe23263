"""The lines each contract term produces: energy, time-of-use windows, overage, peak demand, fixed fees.

Per segment (one endpoint, one client, one tariff): an ``energy`` line for the energy outside
any time-of-use window, a ``tou:<name>`` line per window. Per client and tariff period: an
``overage_kwh`` line (energy above committed_kw x hours) and an ``overage_peak_kw`` line (peak
demand above committed_kw, with when the peak happened). Per circuit: a ``fixed_fee`` line,
prorated to the part of the month the circuit was the client's and not yet retired.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from sqlalchemy import Connection, select

from .billing_settings import BillingSettings
from .periods import Period
from .profile import (
    Readings,
    hourly_knots,
    peak,
    segment_counter,
    slot_energy,
    usable_readings,
    window_kwh,
    window_spans,
)
from .tables import endpoint
from .terms import ClientTerms, Tariff, decimal_of, money

EnergyLine = Callable[..., dict[str, Any]]


Dated = dict[str, list[tuple[float, Tariff]]]


def _tariff(dated_by_client: Dated, client: str, since: float) -> tuple[Tariff | None, float | None]:
    """The client's tariff that starts at ``since`` and when the next one starts."""
    dated = dated_by_client.get(client, [])
    for index, (when, tariff) in enumerate(dated):
        if when == since:
            return tariff, dated[index + 1][0] if index + 1 < len(dated) else None
    return None, None


def _client_line(client: str, terms: ClientTerms, term: str, description: str, start: float, end: float,
                 quantity: Decimal, unit: str, price: float, currency: str, endpoint_id: str = "") -> dict[str, Any]:
    unit_price = decimal_of(price, 6)
    assert unit_price is not None
    return {
        "client": client, "client_name": terms.label, "endpoint_id": endpoint_id, "term": term,
        "description": description, "period_start": datetime.fromtimestamp(start, UTC),
        "period_end": datetime.fromtimestamp(end, UTC), "quantity": quantity, "unit": unit,
        "unit_price": unit_price, "currency": currency, "amount": money(quantity * unit_price, currency),
        "overhead_factor": Decimal(1), "status": "ok",
    }


def _energy_lines(segment: dict[str, Any], tariff: Tariff | None, terms: ClientTerms | None, tz: ZoneInfo,
                  period: Period, readings: Readings, energy_line: EnergyLine) -> list[dict[str, Any]]:
    if tariff is None or not tariff.tou or segment["kwh"] is None:
        return [energy_line(segment, terms, tz, period, segment["kwh"], segment["rate"])]
    knots = segment_counter(segment, readings)
    total = decimal_of(segment["kwh"], 3)
    assert total is not None
    lines, in_windows = [], Decimal(0)
    for window in tariff.tou:
        spans = window_spans(window, segment["s"], segment["e"], tz)
        quantity = decimal_of(window_kwh(knots, spans), 3) or Decimal(0)
        in_windows += quantity
        line = energy_line(segment, terms, tz, period, quantity, window.rate_per_kwh, f"tou:{window.name}",
                           f"Time of use {window.name} ({' '.join(window.days)} {window.hours})")
        share = float(quantity / total) if total else 0.0
        line["estimated_kwh"] = round((segment["estimated_kwh"] or 0.0) * share, 3)
        lines.append(line)
    rest = energy_line(segment, terms, tz, period, total - in_windows, segment["rate"], "energy",
                       "Energy outside time-of-use windows")
    share = float((total - in_windows) / total) if total else 1.0
    rest["estimated_kwh"] = round((segment["estimated_kwh"] or 0.0) * share, 3)
    return [rest, *lines]


def _when(seconds: float, tz: ZoneInfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(seconds, UTC).astimezone(tz).strftime(pattern)


def _commitment_lines(client: str, terms: ClientTerms, tariff: Tariff, group: list[dict[str, Any]], start: float,
                      end: float, tz: ZoneInfo, config: BillingSettings, readings: Readings) -> list[dict[str, Any]]:
    assert tariff.committed_kw is not None
    currency = tariff.currency or terms.currency
    hours = (end - start) / 3600.0
    lines = []
    span = f"{_when(start, tz, '%Y-%m-%d')}..{_when(end - 1e-6, tz, '%Y-%m-%d')}"
    if tariff.overage_per_kwh is not None:
        metered = sum(decimal_of(row["kwh"], 3) or Decimal(0) for row in group)
        allowance = decimal_of(tariff.committed_kw * hours, 3) or Decimal(0)
        excess = max(Decimal(0), metered - allowance).quantize(Decimal("0.001"))
        lines.append(_client_line(
            client, terms, "overage_kwh", f"Energy above the commitment {span}: {metered} kWh metered, "
            f"{allowance} kWh committed ({tariff.committed_kw} kW x {hours:.2f} h)", start, end, excess, "kWh",
            tariff.overage_per_kwh, currency))
    if tariff.overage_per_peak_kw is not None:
        edges = np.arange(start, end, config.peak_interval_s)
        edges = np.append(edges, end) if edges[-1] < end else edges
        energy = np.zeros(len(edges) - 1)
        for row in group:
            if row["kwh"] is not None:
                energy += slot_energy(segment_counter(row, readings), edges, row["s"], row["e"])
        found = peak(edges, energy)
        peak_kw, at0, at1 = found if found else (0.0, start, start)
        excess = max(Decimal(0), (decimal_of(peak_kw, 3) or Decimal(0)) - Decimal(str(tariff.committed_kw)))
        lines.append(_client_line(
            client, terms, "overage_peak_kw", f"Peak demand {peak_kw:.3f} kW ({config.peak_interval_s / 60:g}-minute "
            f"average) on {_when(at0, tz)}-{_when(at1, tz, '%H:%M')} site time, above the commitment of "
            f"{tariff.committed_kw} kW", start, end, excess.quantize(Decimal("0.001")), "kW",
            tariff.overage_per_peak_kw, currency))
    return lines


def _retired_at(conn: Connection, endpoint_ids: set[str]) -> dict[str, float]:
    """When each retired endpoint left the configuration (UTC seconds)."""
    if not endpoint_ids:
        return {}
    query = select(endpoint.c.id, endpoint.c.retired_at).where(endpoint.c.id.in_(sorted(endpoint_ids)),
                                                               endpoint.c.retired_at.is_not(None))
    return {endpoint_id: at.timestamp() for endpoint_id, at in conn.execute(query)}


def _fixed_fee_line(row: dict[str, Any], terms: ClientTerms, tariff: Tariff, period: Period, month: Period,
                    retired_at: float | None, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The circuit's fee for the part of the month it was the client's and not yet retired (none after that)."""
    assert tariff.fixed_fee_per_circuit is not None
    fee_end = month.end.timestamp() if row["e"] == period.end.timestamp() else row["e"]
    if retired_at is not None and retired_at < fee_end:
        fee_end = retired_at
    if fee_end <= row["s"]:
        return []
    month_s = month.end.timestamp() - month.start.timestamp()
    quantity = decimal_of((fee_end - row["s"]) / month_s, 3) or Decimal(0)
    retired = f", retired {_when(fee_end, tz)}" if retired_at == fee_end else ""
    return [_client_line(
        row["client"], terms, "fixed_fee", f"Fixed monthly fee for circuit {row['endpoint_id']}"
        + ("" if quantity == 1 else f", {quantity} of the month") + retired, row["s"], fee_end, quantity, "month",
        tariff.fixed_fee_per_circuit, tariff.currency or terms.currency, row["endpoint_id"])]


def whole_hour_offsets(tz: ZoneInfo, period: Period) -> bool:
    """True when ``tz`` is a whole number of hours from UTC throughout the period (checked every hour).

    The hourly rollup's knots are at UTC whole hours: they bracket windows on local whole hours
    only then (not in Asia/Kolkata, +05:30, nor across Lord Howe's half-hour DST).
    """
    start, end = period.start.timestamp(), period.end.timestamp()
    instants = [*np.arange(start, end, 3600.0), end]
    return all(_offset_s(tz, instant) % 3600 == 0 for instant in instants)


def _offset_s(tz: ZoneInfo, seconds: float) -> float:
    offset = datetime.fromtimestamp(seconds, UTC).astimezone(tz).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def term_lines(conn: Connection, segments: pl.DataFrame, clients: Mapping[str, ClientTerms], tz: ZoneInfo,
               period: Period, month: Period, config: BillingSettings, energy_line: EnergyLine
               ) -> list[dict[str, Any]]:
    """Every line of every client in ``segments`` (coverage already added)."""
    rows = list(segments.iter_rows(named=True))
    dated = {name: [(when.timestamp(), tariff) for when, tariff in terms.dated(tz)] for name, terms in clients.items()}
    every_reading: set[str] = set()
    whole_hours: set[str] = set()
    for row in rows:
        tariff, _ = _tariff(dated, row["client"], row["tariff_from"])
        if tariff is not None and tariff.overage_per_peak_kw is not None:
            every_reading.add(row["endpoint_id"])
        elif tariff is not None and tariff.tou:
            hourly = all(minute % 60 == 0 for window in tariff.tou for minute in window.minutes())
            (whole_hours if hourly else every_reading).add(row["endpoint_id"])
    if whole_hours and not whole_hour_offsets(tz, period):  # local whole hours are not UTC whole hours here
        every_reading |= whole_hours
    readings = usable_readings(conn, period, sorted(every_reading)) if every_reading else {}
    whole_hours -= every_reading
    if whole_hours:  # windows on whole hours need C only at whole hours: the rollup has what brackets them
        readings.update(hourly_knots(conn, period, sorted(whole_hours)))
    retired = _retired_at(conn, {row["endpoint_id"] for row in rows})
    lines: list[dict[str, Any]] = []
    groups: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        terms = clients.get(row["client"])
        tariff, _ = _tariff(dated, row["client"], row["tariff_from"])
        lines += _energy_lines(row, tariff, terms, tz, period, readings, energy_line)
        if terms is None or tariff is None:
            continue
        groups[(row["client"], row["tariff_from"])].append(row)
        if tariff.fixed_fee_per_circuit is not None:
            lines += _fixed_fee_line(row, terms, tariff, period, month, retired.get(row["endpoint_id"]), tz)
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    for (client, since), group in groups.items():
        terms = clients[client]
        tariff, until = _tariff(dated, client, since)
        if tariff is None or tariff.committed_kw is None:
            continue
        start, end = max(t0, since), min(t1, until) if until is not None else t1
        lines += _commitment_lines(client, terms, tariff, group, start, end, tz, config, readings)
    return lines
