"""An independent statement-line source for the statement tests: energy straight from the stored
corrected counters (linear interpolation at the month bounds), priced here, not by billing.py."""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import polars as pl
from nxforge_modules.consumption_monitor.line_contract import LineSource, empty_lines, normalized
from nxforge_modules.consumption_monitor.periods import month_period
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import Engine, select

PRICES = {"acme": (Decimal("0.200000"), Decimal("1.5"), "EUR"), "globex": (Decimal("0.310000"), Decimal("1"), "EUR")}


def counter_at(points: list[tuple[datetime, float]], when: datetime) -> float:
    """C(when) by linear interpolation (the tests keep readings on both sides of every boundary)."""
    times = [t for t, _ in points]
    index = bisect_left(times, when)
    if index < len(points) and times[index] == when:
        return points[index][1]
    if index == len(points):  # a running month: held at the last reading
        return points[-1][1]
    (t0, c0), (t1, c1) = points[index - 1], points[index]
    return c0 + (c1 - c0) * (when - t0).total_seconds() / (t1 - t0).total_seconds()


def reference_source(engine: Engine, tz: ZoneInfo, estimated: dict[str, float] | None = None) -> LineSource:
    """Energy lines per endpoint; ``estimated`` sets an endpoint's estimated share (to test the threshold)."""

    def source(month: str, at: datetime, client: str | None) -> pl.DataFrame:
        period = month_period(month, tz, at)
        rows = []
        with engine.connect() as conn:
            endpoints = conn.execute(select(endpoint.c.id, endpoint.c.client).order_by(endpoint.c.id)).fetchall()
            for endpoint_id, owner in endpoints:
                if client is not None and owner != client:
                    continue
                points = [(r.read_at, r.corrected_kwh) for r in conn.execute(
                    select(reading.c.read_at, reading.c.corrected_kwh)
                    .where(reading.c.endpoint_id == endpoint_id, reading.c.corrected_kwh.is_not(None))
                    .order_by(reading.c.read_at))]
                start, end = counter_at(points, period.start), counter_at(points, period.end)
                kwh = Decimal(str(round(end - start, 3))).quantize(Decimal("0.001"))
                price, factor, currency = PRICES[owner]
                share = (estimated or {}).get(endpoint_id, 0.0)
                rows.append({
                    "client": owner, "client_name": owner.title(), "endpoint_id": endpoint_id, "term": "energy",
                    "description": f"Energy {month}", "period_start": period.start, "period_end": period.end,
                    "quantity": kwh, "unit": "kWh", "unit_price": price, "currency": currency,
                    "amount": (kwh * factor * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
                    "overhead_factor": factor, "start_counter_kwh": start, "end_counter_kwh": end,
                    "start_method": "interpolated", "end_method": "interpolated",
                    "covered_hours": (period.end - period.start).total_seconds() / 3600,
                    "period_hours": (period.end - period.start).total_seconds() / 3600,
                    "estimated_kwh": float(kwh) * share, "estimated_share": share, "resets": 0, "failed_reads": 0,
                    "status": "to date" if period.to_date else "ok",
                })  # fmt: skip
        return normalized(pl.DataFrame(rows)) if rows else empty_lines()

    return source
