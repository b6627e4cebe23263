"""Write readings with their corrected counters, idempotently, and recompute after a late change.

Counters are computed at write time so billing never rescans history: each row carries its
corrected counter and running totals (``cum_*``). Anything that changes the past (a spooled
reading stored late, a swap or a correction recorded by ops) calls ``recompute_from``, which
walks that one endpoint's readings from the change on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from consumption_monitor import counters
from consumption_monitor.counters import Corrected, CounterRules, CounterState
from consumption_monitor.readings import RawReading
from consumption_monitor.tables import endpoint, meter_event, reading

log = logging.getLogger(__name__)

GOOD = reading.c.corrected_kwh.is_not(None)


@dataclass(frozen=True)
class Totals:
    """Running totals carried from one reading to the next."""

    good: int = 0
    failed: int = 0
    events: int = 0
    estimated_kwh: float = 0.0

    def after(self, corrected: Corrected | None) -> Totals:
        """The totals including one more reading (None = a failed scrape)."""
        if corrected is None or not corrected.usable:
            return Totals(self.good, self.failed + 1, self.events, self.estimated_kwh)
        folded = corrected.event in ("reset", "rollover", "swap")
        return Totals(self.good + 1, self.failed, self.events + int(folded),
                      self.estimated_kwh + corrected.estimated_kwh)


@dataclass(frozen=True)
class StoreOutcome:
    """What storing one reading did."""

    inserted: bool
    corrected: Corrected | None


def rules_for(conn: Connection, endpoint_id: str) -> CounterRules:
    """The counter rules of one endpoint, from its row (the YAML synced there)."""
    row = conn.execute(
        select(endpoint.c.rollover_kwh, endpoint.c.circuit_max_kw).where(endpoint.c.id == endpoint_id)
    ).first()
    if row is None:
        return CounterRules()
    return CounterRules(rollover_kwh=row.rollover_kwh or None, circuit_max_kw=row.circuit_max_kw)


def _events_between(conn: Connection, endpoint_id: str, after: datetime | None, upto: datetime,
                    inclusive: bool) -> list[Any]:
    query = select(meter_event).where(meter_event.c.endpoint_id == endpoint_id)
    if after is not None:
        query = query.where(meter_event.c.at > after)
    query = query.where(meter_event.c.at <= upto if inclusive else meter_event.c.at < upto)
    return list(conn.execute(query.order_by(meter_event.c.at, meter_event.c.id)))


def apply_event(state: CounterState | None, event_row: Any) -> CounterState | None:
    """Fold one recorded swap or correction into the counter state."""
    if event_row.kind == "swap":
        return counters.apply_swap(state, event_row.at, event_row.old_final_kwh, event_row.new_initial_kwh)
    return counters.apply_correction(state, event_row.at, event_row.delta_kwh)


def counter_state(conn: Connection, endpoint_id: str, at: datetime) -> tuple[CounterState | None, bool]:
    """The state a reading at ``at`` is compared with, and whether a swap came since the last reading."""
    last_two = list(conn.execute(
        select(reading.c.read_at, reading.c.raw_kwh, reading.c.corrected_kwh, reading.c.offset_kwh,
               reading.c.power_w, reading.c.event)
        .where(reading.c.endpoint_id == endpoint_id, GOOD, reading.c.read_at < at)
        .order_by(reading.c.read_at.desc()).limit(2)
    ))
    state: CounterState | None = None
    if last_two:
        last = last_two[0]
        rate = last.power_w / 1000.0 if last.power_w is not None else None
        if rate is None and len(last_two) == 2:
            hours = (last.read_at - last_two[1].read_at).total_seconds() / 3600
            if hours > 0:
                rate = (last.corrected_kwh - last_two[1].corrected_kwh) / hours
        state = CounterState(last.read_at, last.raw_kwh, last.corrected_kwh, last.offset_kwh, rate)
    swapped = False
    for event_row in _events_between(conn, endpoint_id, state.read_at if state else None, at, inclusive=True):
        state = apply_event(state, event_row)
        swapped = swapped or event_row.kind == "swap"
    return state, swapped


def totals_before(conn: Connection, endpoint_id: str, at: datetime) -> Totals:
    """The running totals of the last reading (any outcome) before ``at``."""
    row = conn.execute(
        select(reading.c.cum_good, reading.c.cum_failed, reading.c.cum_events, reading.c.cum_estimated_kwh)
        .where(reading.c.endpoint_id == endpoint_id, reading.c.read_at < at)
        .order_by(reading.c.read_at.desc()).limit(1)
    ).first()
    return Totals(*row) if row else Totals()


def _correct(state: CounterState | None, raw: Any, rules: CounterRules, swapped: bool) -> Corrected | None:
    if not raw.success or raw.raw_kwh is None:
        return None
    result = counters.correct(state, raw.raw_kwh, raw.read_at, rules)
    if swapped and result.usable and result.event is None:
        result = Corrected(result.corrected_kwh, result.offset_kwh, "swap", result.estimated_kwh)
    return result


def _insert_ignoring_duplicates(conn: Connection, values: dict[str, Any]) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(reading).values(**values)
                 .on_conflict_do_nothing(index_elements=["reading_key"]).returning(reading.c.id))
    return conn.execute(statement).first() is not None


def store_reading(conn: Connection, raw: RawReading) -> StoreOutcome:
    """Insert one reading with its counters; a reading stored before (same key) is left alone."""
    rules = rules_for(conn, raw.endpoint_id)
    state, swapped = counter_state(conn, raw.endpoint_id, raw.read_at)
    corrected = _correct(state, raw, rules, swapped)
    totals = totals_before(conn, raw.endpoint_id, raw.read_at).after(corrected)
    values = {
        "endpoint_id": raw.endpoint_id, "read_at": raw.read_at, "success": raw.success, "raw_kwh": raw.raw_kwh,
        "power_w": raw.power_w, "voltage_v": raw.voltage_v, "current_a": raw.current_a,
        "power_factor": raw.power_factor, "error_class": raw.error_class, "error_message": raw.error_message,
        "evidence_path": raw.evidence_path, "reading_key": raw.reading_key, "engine": raw.engine,
        "duration_ms": raw.duration_ms,
        "corrected_kwh": corrected.corrected_kwh if corrected else None,
        "offset_kwh": corrected.offset_kwh if corrected else None,
        "event": corrected.event if corrected else None,
        "estimated_kwh": corrected.estimated_kwh if corrected else 0.0,
        "cum_good": totals.good, "cum_failed": totals.failed, "cum_events": totals.events,
        "cum_estimated_kwh": totals.estimated_kwh,
    }
    if not _insert_ignoring_duplicates(conn, values):
        log.debug("reading %s was already stored", raw.reading_key)
        return StoreOutcome(False, corrected)
    later = conn.execute(
        select(reading.c.id).where(reading.c.endpoint_id == raw.endpoint_id, reading.c.read_at > raw.read_at).limit(1)
    ).first()
    if later is not None:
        recompute_from(conn, raw.endpoint_id, raw.read_at)
    return StoreOutcome(True, corrected)


def recompute_from(conn: Connection, endpoint_id: str, at: datetime) -> int:
    """Recompute counters and running totals of ``endpoint_id``'s readings from ``at`` on; return rows updated."""
    rules = rules_for(conn, endpoint_id)
    state, swapped = counter_state(conn, endpoint_id, at)
    totals = totals_before(conn, endpoint_id, at)
    rows = list(conn.execute(
        select(reading.c.id, reading.c.read_at, reading.c.success, reading.c.raw_kwh, reading.c.power_w)
        .where(reading.c.endpoint_id == endpoint_id, reading.c.read_at >= at).order_by(reading.c.read_at)
    ))
    pending = _events_between(conn, endpoint_id, at, rows[-1].read_at, inclusive=True) if rows else []
    changes = []
    for row in rows:
        while pending and pending[0].at <= row.read_at:
            event_row = pending.pop(0)
            state = apply_event(state, event_row)
            swapped = swapped or event_row.kind == "swap"
        corrected = _correct(state, row, rules, swapped)
        if corrected is not None and corrected.usable:
            state = counters.advance(state, row.raw_kwh, row.read_at, corrected, row.power_w)
            swapped = False
        totals = totals.after(corrected)
        changes.append({
            "row_id": row.id,
            "corrected_kwh": corrected.corrected_kwh if corrected else None,
            "offset_kwh": corrected.offset_kwh if corrected else None,
            "event": corrected.event if corrected else None,
            "estimated_kwh": corrected.estimated_kwh if corrected else 0.0,
            "cum_good": totals.good, "cum_failed": totals.failed, "cum_events": totals.events,
            "cum_estimated_kwh": totals.estimated_kwh,
        })
    if changes:
        # executemany: the SET clause comes from the keys that name columns.
        conn.execute(update(reading).where(reading.c.id == bindparam("row_id")), changes)
    log.info("recomputed %d reading(s) of %s from %s", len(changes), endpoint_id, at.isoformat())
    return len(changes)

