"""Adjustment lines: what a closed month would bill now, less what its frozen statement billed.

A closed statement never changes. Whenever the first month after a closed one that is still
open is served, the closed month is recomputed and compared with its frozen lines, whatever
made them differ: a correction or swap, readings imported or flushed from the spool after the
close, an opening reading, a meter that answers again after an extrapolated end. Nothing
depends on when the change is dated, so every kWh across a closed boundary is billed exactly
once over the two months.

The difference is taken in quantities, never in money, and priced from the frozen lines:

* energy (``energy`` and ``tou:*``): the recomputed kWh of each endpoint are laid on the frozen
  lines of that endpoint (same term, by overlap in time) and each frozen line's client, unit
  price and overhead factor prices its difference. An assignment or tariff changed after the
  close therefore never re-splits or re-prices a closed month;
* client lines that depend on energy: ``overage_kwh`` moves with the client's own energy
  difference (exact while the month is above its commitment; capped by the recomputed line
  below it) and ``overage_peak_kw`` takes the recomputed peak, only while the client's circuits
  are laid out as at the close (otherwise it is left as frozen and logged).

What later closed statements already adjusted is subtracted, so a difference is billed once. An
endpoint whose readings of the closed month were pruned (archiving) is left as frozen, never credited.
Amounts are rounded to the currency's minor unit (``money``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine, select

from .line_contract import LineSource, empty_lines, is_energy, normalized
from .statement_tables import statement, statement_line
from .statements import MonthState, closed_months, frozen_lines
from .tables import meter_event
from .terms import money

log = logging.getLogger(__name__)

Key = tuple[str, str, str, Decimal | None, Decimal | None, str]
"""What an adjustment is priced and counted by: client, endpoint ("" for client lines), unit, price, factor,
currency."""
KWH = Decimal("0.001")
ZERO = Decimal("0.000")
OVERAGE_KWH, OVERAGE_PEAK = "overage_kwh", "overage_peak_kw"
FROM_READINGS = frozenset({"reading", "interpolated", "extrapolated", "opening reading"})


@dataclass
class FrozenLine:
    """One frozen energy line and the recomputed kWh laid on it."""

    key: Key
    client_name: str
    term: str
    start: datetime
    end: datetime
    quantity: Decimal
    now: Decimal = ZERO


@dataclass(frozen=True)
class ClosedMonth:
    """A closed month that adjusts onto the month being served, with what it needs from the database."""

    month: str
    head: Any
    numbers: dict[str, str]
    names: dict[str, str]
    frozen: pl.DataFrame
    done: dict[Key, Decimal]
    events: Sequence[Any]


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _first_open_after(month: str, closed: dict[str, MonthState]) -> str:
    candidate = _next_month(month)
    while candidate in closed:
        candidate = _next_month(candidate)
    return candidate


def _key(row: dict[str, Any]) -> Key:
    return (row["client"], row["endpoint_id"] or "", row["unit"] or "kWh", row["unit_price"],
            row["overhead_factor"], row["currency"] or "")


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> int:
    """Microseconds two periods share (an exact integer, so shares of kWh stay exact Decimals)."""
    span = min(a1, b1) - max(a0, b0)
    return max(span // span.resolution, 0) if span.total_seconds() > 0 else 0


def _targets(conn: Connection, month: str) -> list[ClosedMonth]:
    """Closed months whose first open month after them is ``month``."""
    closed = closed_months(conn)
    found = []
    for before, state in sorted(closed.items()):
        if before >= month or _first_open_after(before, closed) != month:
            continue
        heads = conn.execute(select(statement.c.id, statement.c.number, statement.c.client, statement.c.client_name,
                                    statement.c.period_start, statement.c.period_end)
                             .where(statement.c.month == before, statement.c.version == state.version)
                             .order_by(statement.c.client)).fetchall()
        if not heads:
            continue
        numbers = {head.client: head.number for head in heads}
        events = conn.execute(select(meter_event).where(meter_event.c.recorded_at > state.closed_at)
                              .order_by(meter_event.c.at, meter_event.c.id)).fetchall()
        found.append(ClosedMonth(before, heads[0], numbers, {head.client: head.client_name for head in heads},
                                 frozen_lines(conn, [head.id for head in heads]),
                                 _already_adjusted(conn, list(numbers.values())), events))
    return found


def adjustment_lines(engine: Engine, month: str, tz: ZoneInfo, at: datetime, source: LineSource, *,
                     client: str | None = None) -> pl.DataFrame:
    """The adjustment lines ``month`` carries for closed months whose recomputation differs from their close."""
    with engine.connect() as conn:
        targets = _targets(conn, month)
    rows: list[dict[str, Any]] = []
    for target in targets:
        now_lines = normalized(source(target.month, at, None))
        rows += [row for row in _month_adjustments(target, now_lines, tz)
                 if client is None or row["client"] == client]
    if rows:
        log.info("%d adjustment line(s) for %s", len(rows), month)
    return normalized(pl.DataFrame(rows, schema=empty_lines().schema)) if rows else empty_lines()


def _month_adjustments(target: ClosedMonth, now_lines: pl.DataFrame, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The adjustment rows of one closed month against its recomputation ``now_lines``."""
    energy = is_energy(pl.col("term"))
    frozen = [FrozenLine(_key(row), row["client_name"] or row["client"], row["term"], row["period_start"],
                         row["period_end"], row["quantity"] if row["quantity"] is not None else ZERO)
              for row in target.frozen.filter(energy).iter_rows(named=True)]
    now_energy = now_lines.filter(energy & (pl.col("quantity").is_not_null()))
    lost = _readings_lost(target, now_energy)
    orphans = _lay(frozen, now_energy.filter(~pl.col("endpoint_id").is_in(sorted(lost))))
    for line in frozen:
        if line.key[1] in lost:
            line.now = line.quantity
    deltas = _rounded_deltas(frozen, orphans)
    names = {line.key[0]: line.client_name for line in frozen} | target.names
    client_rows = _client_deltas(target, frozen, now_lines)
    rows = []
    for key, delta in sorted(deltas.items(), key=lambda item: _order(item[0])):
        delta -= target.done.get(key, ZERO)
        if delta != 0 and key[0] in target.numbers:
            rows.append(_line(key, delta, target, names.get(key[0], key[0]), "kWh",
                              _reasons(target.events, {key[1]}, tz)))
        elif delta != 0:
            log.warning("%s: %s kWh of %s for client %s, who has no statement that month: not adjusted",
                        target.month, delta, key[1], key[0])
    for key, delta, what in client_rows:
        endpoints = {line.key[1] for line in frozen if line.key[0] == key[0]}
        rows.append(_line(key, delta, target, names.get(key[0], key[0]), what, _reasons(target.events, endpoints, tz)))
    return rows


def _order(key: Key) -> tuple[str, str, str, str]:
    return key[0], key[1], key[2], str(key[3])


def _readings_lost(target: ClosedMonth, now_energy: pl.DataFrame) -> set[str]:
    """Endpoints the recomputation cannot speak for: none of its lines has kWh, or a boundary found from
    readings at the close is now only held (readings pruned after archiving). They stay as frozen, never credited.
    """
    def boundaries(frame: pl.DataFrame) -> dict[tuple[str, datetime], str]:
        found = {}
        for row in frame.iter_rows(named=True):
            found[(row["endpoint_id"], row["period_start"])] = row["start_method"] or "no data"
            found[(row["endpoint_id"], row["period_end"])] = row["end_method"] or "no data"
        return found

    was = boundaries(target.frozen.filter(is_energy(pl.col("term")) & pl.col("quantity").is_not_null()))
    now = boundaries(now_energy)
    measured = {endpoint_id for endpoint_id, _ in now}
    lost = {endpoint_id for (endpoint_id, at), method in was.items() if endpoint_id not in measured or (
        method in FROM_READINGS and now.get((endpoint_id, at), method) not in FROM_READINGS)}
    for endpoint_id in sorted(lost):
        log.warning("%s: %s not adjusted: the readings it was closed with are no longer all in the database",
                    target.month, endpoint_id)
    return lost


def _lay(frozen: list[FrozenLine], now_energy: pl.DataFrame) -> dict[Key, Decimal]:
    """Set each frozen energy line's recomputed kWh (``now``) from the recomputed lines of its endpoint.

    A recomputed line with the frozen line's term and period is that line's, exactly. What is left of
    an endpoint (its lines split otherwise, e.g. a client_history corrected after the close) moves
    only by its difference, laid on the endpoint's other frozen lines by their duration: a pure
    re-split moves nothing (the closed month keeps its clients), and the endpoint's total is kept
    exactly. kWh of an endpoint with no frozen line at all are returned by the recomputed line's
    own key (client and price of today: the closed month has none to give).
    """
    by_endpoint: dict[str, list[FrozenLine]] = defaultdict(list)
    for line in frozen:
        by_endpoint[line.key[1]].append(line)
    orphans: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    left: dict[str, Decimal] = defaultdict(lambda: ZERO)  # recomputed kWh no frozen line matched, by endpoint
    matched: set[int] = set()
    for row in now_energy.iter_rows(named=True):
        own = by_endpoint.get(row["endpoint_id"], [])
        if not own:
            orphans[_key(row)] += row["quantity"]
            continue
        same = [line for line in own if id(line) not in matched
                and (line.term, line.start, line.end) == (row["term"], row["period_start"], row["period_end"])]
        if same:
            same[0].now += row["quantity"]
            matched.add(id(same[0]))
        else:
            left[row["endpoint_id"]] += row["quantity"]
    for endpoint_id, lines in by_endpoint.items():
        rest = [line for line in lines if id(line) not in matched] or lines
        difference = left[endpoint_id] - sum((line.quantity for line in rest if id(line) not in matched), ZERO)
        weights = [max(_overlap(line.start, line.end, line.start, line.end), 1) for line in rest]
        for line, weight in zip(rest, weights, strict=True):
            base = line.quantity if id(line) not in matched else ZERO
            line.now += base + difference * weight / sum(weights)
    return orphans


def _rounded_deltas(frozen: list[FrozenLine], orphans: dict[Key, Decimal]) -> dict[Key, Decimal]:
    """kWh difference per key, rounded to the Wh so that each endpoint's differences add up to its own exactly."""
    raw: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    for line in frozen:
        raw[line.key] += line.now - line.quantity
    for key, quantity in orphans.items():
        raw[key] += quantity
    by_endpoint: dict[str, list[Key]] = defaultdict(list)
    for key in raw:
        by_endpoint[key[1]].append(key)
    deltas: dict[Key, Decimal] = {}
    for keys in by_endpoint.values():
        exact = sum((raw[key] for key in keys), ZERO).quantize(KWH, rounding=ROUND_HALF_UP)
        for key in keys:
            deltas[key] = raw[key].quantize(KWH, rounding=ROUND_HALF_UP)
        largest = max(keys, key=lambda key: abs(raw[key]))
        deltas[largest] += exact - sum((deltas[key] for key in keys), ZERO)
    return deltas


def _client_deltas(target: ClosedMonth, frozen: list[FrozenLine], now_lines: pl.DataFrame
                   ) -> list[tuple[Key, Decimal, str]]:
    """Differences of the client lines that depend on energy, at their frozen prices (less what was adjusted)."""
    terms = pl.col("term").is_in([OVERAGE_KWH, OVERAGE_PEAK])
    now = {(row["client"], row["term"], row["period_start"], row["period_end"]): row["quantity"]
           for row in now_lines.filter(terms).iter_rows(named=True)}
    layout_now = {(row["client"], row["endpoint_id"], row["period_start"], row["period_end"])
                  for row in now_lines.filter(is_energy(pl.col("term"))).iter_rows(named=True)}
    layout_was = {(line.key[0], line.key[1], line.start, line.end) for line in frozen}
    found: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    what: dict[Key, str] = {}
    for row in target.frozen.filter(terms).iter_rows(named=True):
        was = row["quantity"] if row["quantity"] is not None else ZERO
        recomputed = now.get((row["client"], row["term"], row["period_start"], row["period_end"]))
        key = _key(row)
        if row["term"] == OVERAGE_KWH:
            energy = sum((line.now - line.quantity for line in frozen if line.key[0] == row["client"]
                          and row["period_start"] <= line.start and line.end <= row["period_end"]), ZERO)
            if was > 0:
                quantity = max(ZERO, was + energy)
            elif recomputed is not None:  # below the commitment at the close: the allowance is in the recomputation
                quantity = min(max(ZERO, energy), recomputed)
            else:
                continue
            what[key] = "kWh above the commitment"
        else:
            same = ({item for item in layout_now if item[0] == row["client"]}
                    == {item for item in layout_was if item[0] == row["client"]})
            changed = any((line.now - line.quantity).quantize(KWH) != 0 for line in frozen
                          if line.key[0] == row["client"])  # else only the terms moved (a commitment edited)
            if recomputed is None or not same or not changed:
                if recomputed != was and changed:
                    log.warning("%s: peak demand of %s not adjusted: its circuits changed since the close",
                                target.month, row["client"])
                continue
            quantity = recomputed
            what[key] = "kW of peak demand above the commitment"
        found[key] += quantity.quantize(KWH, rounding=ROUND_HALF_UP) - was
    return [(key, delta - target.done.get(key, ZERO), what[key]) for key, delta in sorted(
        found.items(), key=lambda item: _order(item[0])) if delta - target.done.get(key, ZERO) != 0]


def _reasons(events: Sequence[Any], endpoint_ids: set[str], tz: ZoneInfo) -> str:
    said = [f"{event.kind} at {event.at.astimezone(tz):%Y-%m-%d %H:%M} recorded by {event.who} on "
            f"{event.recorded_at.astimezone(tz):%Y-%m-%d}: {event.why}"
            for event in events if event.endpoint_id in endpoint_ids]
    return "; ".join(said)


def _already_adjusted(conn: Connection, numbers: list[str]) -> dict[Key, Decimal]:
    """Adjustments already frozen into later closed statements for these statement numbers.

    Only the statements of each month's current close count: a month reopened (and maybe closed
    again) no longer bills what its superseded version carried, so that difference is still due.
    """
    current = {month: state.version for month, state in closed_months(conn).items()}
    ids = [row.id for row in conn.execute(
        select(statement.c.id, statement.c.month, statement.c.version).where(statement.c.id.in_(
            select(statement_line.c.statement_id).where(statement_line.c.adjusts.in_(numbers)))))
        if current.get(row.month) == row.version]
    sums: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    for row in frozen_lines(conn, ids).filter(pl.col("adjusts").is_in(numbers)).iter_rows(named=True):
        if row["quantity"] is not None:
            sums[_key(row)] += row["quantity"]
    return sums


def _line(key: Key, delta: Decimal, target: ClosedMonth, client_name: str, what: str, reasons: str
          ) -> dict[str, Any]:
    client, endpoint_id, unit, price, factor, currency = key
    quantity = delta.quantize(KWH)
    amount = money(quantity * (factor or Decimal(1)) * price, currency) if price is not None else None
    head, number = target.head, target.numbers[client]
    return {
        "client": client, "client_name": client_name, "endpoint_id": endpoint_id, "term": "adjustment",
        "description": f"Adjustment to {target.month} ({number}): {quantity:+} {what} after "
                       f"{reasons or 'readings stored after the close'}",
        "period_start": head.period_start, "period_end": head.period_end, "quantity": quantity, "unit": unit,
        "unit_price": price, "currency": currency, "amount": amount, "overhead_factor": factor, "status": "ok",
        "adjusts": number,
    }  # fmt: skip
