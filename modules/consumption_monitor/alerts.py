"""The consumption monitor's alerts, carried as events so the core's notifications route them.

One open alert per cause (``endpoint:<id>:unreadable``, ``:implausible``, ``:ceiling``, ``:mtd``): raised when
the cause appears, resolved when it goes. The set of open causes is kept in the module's storage
so a run announces only changes, not the same alert every minute.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from nxforge.sdk import ModuleContext

from .store_bulk import recent_readings
from .tables import reading

log = logging.getLogger(__name__)

STATE_FILE = "open_alerts.json"


@dataclass(frozen=True)
class AlertRules:
    """When to alert: failures in a row before a meter counts as unreadable; month-to-date limit (0 = off)."""

    failures_before_alert: int
    threshold_kwh: float


def _load(path: Path) -> set[str]:
    try:
        return set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return set()


def _save(path: Path, keys: set[str]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(sorted(keys)), encoding="utf-8")
    temporary.replace(path)


def latest_readings(engine: Engine, endpoint_id: str, count: int) -> list[Any]:
    """The endpoint's newest ``count`` readings, newest first (an index look-up, no scan)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(reading.c.success, reading.c.event, reading.c.error_class, reading.c.error_message,
                       reading.c.raw_kwh)
                .where(reading.c.endpoint_id == endpoint_id)
                .order_by(reading.c.read_at.desc())
                .limit(count)
            )
        )


class _Announcer:
    """Emits raised/resolved only when a cause's state changes."""

    def __init__(self, ctx: ModuleContext, open_keys: set[str]) -> None:
        self.ctx = ctx
        self.open = open_keys

    def set(self, key: str, active: bool, kind: str, message: str, data: dict[str, Any],
            severity: str = "warning") -> None:
        if active and key not in self.open:
            self.ctx.emit("alert.raised", message, severity, {**data, "key": key, "kind": kind})
            self.open.add(key)
        elif not active and key in self.open:
            self.ctx.emit("alert.resolved", f"recovered: {message}", "info", {**data, "key": key, "kind": kind})
            self.open.discard(key)


def evaluate_alerts(ctx: ModuleContext, endpoint_ids: Iterable[str], rules: AlertRules,
                    now: datetime, tz: ZoneInfo) -> set[str]:
    """Raise or resolve the alerts of the endpoints read in this run; return the causes now open."""
    state_path = ctx.storage / STATE_FILE
    announcer = _Announcer(ctx, _load(state_path))
    ids = sorted(set(endpoint_ids))
    recent_by_id = recent_readings(ctx.db, ids, max(rules.failures_before_alert, 1))  # one query, not one per id
    for endpoint_id in ids:
        recent = recent_by_id[endpoint_id]
        if not recent:
            continue
        newest = recent[0]
        data = {"endpoint": endpoint_id}
        failing = len(recent) >= rules.failures_before_alert and not any(r.success for r in recent)
        announcer.set(
            f"endpoint:{endpoint_id}:unreadable", failing, "meter.unreadable",
            f"{endpoint_id} failed {len(recent)} reads in a row: {newest.error_class}: {newest.error_message}",
            {**data, "failures": len(recent), "error_class": newest.error_class},
        )
        if newest.success:
            announcer.set(
                f"endpoint:{endpoint_id}:implausible", newest.event == "implausible", "meter.implausible",
                f"{endpoint_id} reported {newest.raw_kwh} kWh, held for review (a rise its circuit cannot carry, or "
                "a drop its counter cannot have made); left out of billing until it reads plausibly or a swap is "
                "recorded",
                {**data, "raw_kwh": newest.raw_kwh},
            )
            announcer.set(
                f"endpoint:{endpoint_id}:ceiling", newest.event == "ceiling", "meter.ceiling",
                f"{endpoint_id}'s energy counter stopped at its declared ceiling ({newest.raw_kwh} kWh) and counts "
                "nothing until it is reset on the device; held, not billed",
                {**data, "raw_kwh": newest.raw_kwh},
            )
    if rules.threshold_kwh > 0 and ids:
        from .billing import billing_by_endpoint  # here: Polars costs the collector's start-up half a second

        month = now.astimezone(tz).strftime("%Y-%m")
        table = billing_by_endpoint(ctx.db, month, tz, now)
        for row in table.filter(table["endpoint_id"].is_in(ids)).iter_rows(named=True):
            kwh = float(row["kwh"] or 0.0)
            announcer.set(
                f"endpoint:{row['endpoint_id']}:mtd", kwh > rules.threshold_kwh, "consumption.over_threshold",
                f"{row['endpoint_id']} used {kwh:,.1f} kWh in {month}, over the {rules.threshold_kwh:,.0f} kWh limit",
                {"endpoint": row["endpoint_id"], "month": month, "kwh_to_date": kwh,
                 "threshold_kwh": rules.threshold_kwh},
            )
    _save(state_path, announcer.open)
    return set(announcer.open)
