"""Adjustment lines: energy of a closed month that changed after its close, billed on the next open one.

A closed statement never changes. When ops records a correction or a swap after a month was
closed and it changes that month's energy, the month is recomputed for the endpoints concerned
and the difference (less what earlier closed statements already adjusted) becomes a line on the
first month after it that is still open, at the closed month's prices, with the reason and who
recorded it. Only meter events recorded after the close are looked at, so a month nobody
touched is never recomputed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine, select

from .line_contract import LineSource, empty_lines, is_energy, normalized
from .statement_tables import statement, statement_line
from .statements import MonthState, closed_months, frozen_lines
from .tables import meter_event

log = logging.getLogger(__name__)

Key = tuple[str, str, Decimal | None, Decimal | None, str]
CENT = Decimal("0.01")


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _first_open_after(month: str, closed: dict[str, MonthState]) -> str:
    candidate = _next_month(month)
    while candidate in closed:
        candidate = _next_month(candidate)
    return candidate


def _key(row: dict[str, Any]) -> Key:
    return (row["client"], row["endpoint_id"], row["unit_price"], row["overhead_factor"], row["currency"])


def _sums(lines: pl.DataFrame) -> dict[Key, Decimal]:
    sums: dict[Key, Decimal] = defaultdict(lambda: Decimal("0.000"))
    for row in lines.iter_rows(named=True):
        if row["quantity"] is not None:
            sums[_key(row)] += row["quantity"]
    return sums


def _reasons(events: Sequence[Any], endpoint_id: str, tz: ZoneInfo) -> str:
    said = [f"{event.kind} at {event.at.astimezone(tz):%Y-%m-%d %H:%M} recorded by {event.who} on "
            f"{event.recorded_at.astimezone(tz):%Y-%m-%d}: {event.why}"
            for event in events if event.endpoint_id == endpoint_id]
    return "; ".join(said)


def adjustment_lines(engine: Engine, month: str, tz: ZoneInfo, at: datetime, source: LineSource, *,
                     client: str | None = None) -> pl.DataFrame:
    """The adjustment lines ``month`` carries for closed months whose energy changed since their close."""
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        closed = closed_months(conn)
        targets = [(before, state) for before, state in sorted(closed.items())
                   if before < month and _first_open_after(before, closed) == month]
        work = []
        for before, state in targets:
            heads = conn.execute(select(statement.c.id, statement.c.number, statement.c.client,
                                        statement.c.period_start, statement.c.period_end)
                                 .where(statement.c.month == before, statement.c.version == state.version)).fetchall()
            if not heads:
                continue
            events = conn.execute(select(meter_event).where(
                meter_event.c.recorded_at > state.closed_at, meter_event.c.at < heads[0].period_end,
            ).order_by(meter_event.c.at, meter_event.c.id)).fetchall()
            if not events:
                continue
            numbers = {head.client: head.number for head in heads}
            frozen = frozen_lines(conn, [head.id for head in heads])
            done = _already_adjusted(conn, list(numbers.values()))
            work.append((before, heads[0], events, numbers, frozen, done))
    for before, head, events, numbers, frozen, done in work:
        touched = sorted({event.endpoint_id for event in events})
        energy = pl.col("endpoint_id").is_in(touched) & is_energy(pl.col("term"))
        now_lines = normalized(source(before, at, None)).filter(energy)
        was = _sums(frozen.filter(energy))
        now = _sums(now_lines)
        names = dict(zip(now_lines["client"].to_list(), now_lines["client_name"].to_list(), strict=True))
        for key in sorted(set(was) | set(now), key=lambda k: (k[0], k[1], str(k[2]))):
            delta = now.get(key, Decimal(0)) - was.get(key, Decimal(0)) - done.get(key, Decimal(0))
            if delta == 0 or key[0] not in numbers or (client is not None and key[0] != client):
                continue
            rows.append(_line(key, delta, before, numbers[key[0]], names.get(key[0], key[0]), head,
                              _reasons(events, key[1], tz)))
    if rows:
        log.info("%d adjustment line(s) for %s", len(rows), month)
    return normalized(pl.DataFrame(rows, schema=empty_lines().schema)) if rows else empty_lines()


def _already_adjusted(conn: Any, numbers: list[str]) -> dict[Key, Decimal]:
    """Adjustments already frozen into later closed statements for these statement numbers."""
    ids = [row.statement_id for row in conn.execute(
        select(statement_line.c.statement_id).where(statement_line.c.adjusts.in_(numbers)).distinct())]
    lines = frozen_lines(conn, ids)
    return _sums(lines.filter(pl.col("adjusts").is_in(numbers)))


def _line(key: Key, delta: Decimal, before: str, number: str, client_name: str, head: Any,
          reasons: str) -> dict[str, Any]:
    client, endpoint_id, price, factor, currency = key
    quantity = delta.quantize(Decimal("0.001"))
    amount = ((quantity * (factor or Decimal(1)) * price).quantize(CENT, rounding=ROUND_HALF_UP)
              if price is not None else None)
    return {
        "client": client, "client_name": client_name, "endpoint_id": endpoint_id, "term": "adjustment",
        "description": f"Adjustment to {before} ({number}): {quantity:+} kWh after {reasons or 'a later change'}",
        "period_start": head.period_start, "period_end": head.period_end, "quantity": quantity, "unit": "kWh",
        "unit_price": price, "currency": currency, "amount": amount, "overhead_factor": factor, "status": "ok",
        "adjusts": number,
    }  # fmt: skip
