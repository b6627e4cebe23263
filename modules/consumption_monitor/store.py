"""Write readings with their corrected counters, idempotently, and recompute after a late change.

Counters are computed at write time so billing never rescans history: each row carries its
corrected counter and running totals (``cum_*``). Anything that changes the past (a spooled
reading stored late, a swap or a correction recorded by ops) calls ``recompute_from``, which
walks that one endpoint's readings from the change on. All three (``store_reading``,
``store_batch``, ``recompute_from``) correct a reading through ``counters.CounterWalk.read``.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, String, any_, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from . import counters, rollup, store_bulk
from .counters import Corrected, CounterRules, CounterState, CounterWalk
from .readings import RawReading, ceiling_of
from .tables import endpoint, meter_event, reading

log = logging.getLogger(__name__)

GOOD = reading.c.corrected_kwh.is_not(None)


class Totals(NamedTuple):  # a tuple: two are made per reading stored, and a frozen dataclass costs three times as much
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
        select(endpoint.c.rollover_kwh, endpoint.c.circuit_max_kw, endpoint.c.default_max_kw, endpoint.c.resettable)
        .where(endpoint.c.id == endpoint_id)
    ).first()
    return _rules(row) if row is not None else CounterRules()


def _rules(row: Any) -> CounterRules:
    return _shared_rules(row.rollover_kwh or None, row.circuit_max_kw, row.default_max_kw, row.resettable is not False)


@functools.lru_cache(maxsize=4096)
def _shared_rules(rollover_kwh: float | None, circuit_max_kw: float | None, default_max_kw: float | None,
                  resettable: bool) -> CounterRules:
    """One (immutable) rules object per distinct set of values: most endpoints of a site share theirs, and a
    batch of a thousand readings would otherwise build a thousand."""
    return CounterRules(rollover_kwh=rollover_kwh, circuit_max_kw=circuit_max_kw, default_max_kw=default_max_kw,
                        resettable=resettable)


def peak_lookup(conn: Connection, endpoint_id: str) -> Callable[[datetime], float | None]:
    """How ``CounterWalk`` asks for the endpoint's highest 15-minute power in the 30 days before an instant."""

    def peak_before(at: datetime) -> float | None:
        rows = conn.execute(
            select(reading.c.read_at, reading.c.corrected_kwh)
            .where(reading.c.endpoint_id == endpoint_id, GOOD, reading.c.read_at >= at - counters.PEAK_HISTORY,
                   reading.c.read_at < at)
            .order_by(reading.c.read_at)
        ).fetchall()
        return counters.peak_power_kw([(row.read_at, row.corrected_kwh) for row in rows])

    return peak_before


def _events_between(conn: Connection, endpoint_id: str, after: datetime | None, upto: datetime,
                    inclusive: bool) -> list[Any]:
    query = select(meter_event).where(meter_event.c.endpoint_id == endpoint_id)
    if after is not None:
        query = query.where(meter_event.c.at > after)
    query = query.where(meter_event.c.at <= upto if inclusive else meter_event.c.at < upto)
    return list(conn.execute(query.order_by(meter_event.c.at, meter_event.c.id)))


def _state_from(last_two: Sequence[Any]) -> CounterState | None:
    """The counter state after the last usable reading (``last_two``: newest first, 0 to 2 rows)."""
    if not last_two:
        return None
    last = last_two[0]
    before = (last_two[1].read_at, last_two[1].corrected_kwh) if len(last_two) == 2 else None
    rate = counters.rate_kw(last.power_w, last.read_at, last.corrected_kwh, before)
    return CounterState(last.read_at, last.raw_kwh, last.corrected_kwh, last.offset_kwh, rate, last.counter_reset_at)


def walk_from(conn: Connection, endpoint_id: str, at: datetime, rules: CounterRules) -> CounterWalk:
    """The counter a reading at ``at`` is corrected with: the last usable reading before it, and the
    swaps and corrections recorded since (up to ``at`` included)."""
    last_two = list(conn.execute(
        select(reading.c.read_at, reading.c.raw_kwh, reading.c.corrected_kwh, reading.c.offset_kwh,
               reading.c.power_w, reading.c.event, reading.c.counter_reset_at)
        .where(reading.c.endpoint_id == endpoint_id, GOOD, reading.c.read_at < at)
        .order_by(reading.c.read_at.desc()).limit(2)
    ))
    state = _state_from(last_two)
    return CounterWalk(state, rules, _events_between(conn, endpoint_id, state.read_at if state else None, at,
                                                     inclusive=True), peak_lookup(conn, endpoint_id))


def totals_before(conn: Connection, endpoint_id: str, at: datetime) -> Totals:
    """The running totals of the last reading (any outcome) before ``at``."""
    row = conn.execute(
        select(reading.c.cum_good, reading.c.cum_failed, reading.c.cum_events, reading.c.cum_estimated_kwh)
        .where(reading.c.endpoint_id == endpoint_id, reading.c.read_at < at)
        .order_by(reading.c.read_at.desc()).limit(1)
    ).first()
    return Totals(*row) if row else Totals()


def _conflict_keys(conn: Connection) -> list[str]:
    # PostgreSQL: cm_reading is partitioned by read_at, so its unique key includes it (003_partitions).
    return ["reading_key", "read_at"] if conn.dialect.name == "postgresql" else ["reading_key"]


def ensure_partitions(conn: Connection, first: datetime, last: datetime) -> None:
    """PostgreSQL: make sure the monthly partitions for [first, last] exist (no-op elsewhere)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT cm_reading_ensure_partitions(:a, :b)"), {"a": first, "b": last})


def _insert_ignoring_duplicates(conn: Connection, values: dict[str, Any]) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(reading).values(**values)
                 .on_conflict_do_nothing(index_elements=_conflict_keys(conn)).returning(reading.c.id))
    return conn.execute(statement).first() is not None


def store_reading(conn: Connection, raw: RawReading) -> StoreOutcome:
    """Insert one reading with its counters; a reading stored before (same key) is left alone."""
    ensure_partitions(conn, raw.read_at, raw.read_at)
    walk = walk_from(conn, raw.endpoint_id, raw.read_at, rules_for(conn, raw.endpoint_id))
    corrected = walk.read(_usable_kwh(raw), raw.read_at, raw.power_w, ceiling_of(raw), raw.counter_reset_at)
    totals = totals_before(conn, raw.endpoint_id, raw.read_at).after(corrected)
    values = _row_values(raw, corrected, totals)
    if not _insert_ignoring_duplicates(conn, values):
        log.debug("reading %s was already stored", raw.reading_key)
        return StoreOutcome(False, corrected)
    later = conn.execute(
        select(reading.c.id).where(reading.c.endpoint_id == raw.endpoint_id, reading.c.read_at > raw.read_at).limit(1)
    ).first()
    if later is not None:
        recompute_from(conn, raw.endpoint_id, raw.read_at)  # rebuilds the rollup from there too
    else:
        rollup.add(conn, [(raw.endpoint_id, raw.read_at, values["corrected_kwh"], raw.power_w)])
    return StoreOutcome(True, corrected)


def _usable_kwh(raw: RawReading | Any) -> float | None:
    """The raw counter of a reading that has one (None for a failed read)."""
    return raw.raw_kwh if raw.success else None


def _row_values(raw: RawReading, corrected: Corrected | None, totals: Totals) -> dict[str, Any]:
    return {
        "endpoint_id": raw.endpoint_id, "read_at": raw.read_at, "success": raw.success, "raw_kwh": raw.raw_kwh,
        "power_w": raw.power_w, "voltage_v": raw.voltage_v, "current_a": raw.current_a,
        "power_factor": raw.power_factor, "error_class": raw.error_class, "error_message": raw.error_message,
        "evidence_path": raw.evidence_path, "reading_key": raw.reading_key, "engine": raw.engine,
        "duration_ms": raw.duration_ms, "counter_reset_at": raw.counter_reset_at,
        "corrected_kwh": corrected.corrected_kwh if corrected else None,
        "offset_kwh": corrected.offset_kwh if corrected else None,
        "event": corrected.event if corrected else None,
        "estimated_kwh": corrected.estimated_kwh if corrected else 0.0,
        "cum_good": totals.good, "cum_failed": totals.failed, "cum_events": totals.events,
        "cum_estimated_kwh": totals.estimated_kwh,
    }


def recompute_from(conn: Connection, endpoint_id: str, at: datetime) -> int:
    """Recompute counters and running totals of ``endpoint_id``'s readings from ``at`` on; return rows updated."""
    walk = walk_from(conn, endpoint_id, at, rules_for(conn, endpoint_id))
    changes: list[dict[str, Any]] = []
    updated = 0

    def write_changes() -> None:
        nonlocal updated
        if changes:  # executemany: the SET clause comes from the keys that name columns.
            conn.execute(update(reading).where(reading.c.id == bindparam("row_id")), changes)
            updated += len(changes)
            changes.clear()

    lookup = walk.peak_kw
    assert lookup is not None

    def peak_after_writing(before: datetime) -> float | None:
        write_changes()  # the peak is read from the readings as recomputed so far
        return lookup(before)

    walk.peak_kw = peak_after_writing
    totals = totals_before(conn, endpoint_id, at)
    rows = list(conn.execute(
        select(reading.c.id, reading.c.read_at, reading.c.success, reading.c.raw_kwh, reading.c.power_w,
               reading.c.event, reading.c.counter_reset_at)
        .where(reading.c.endpoint_id == endpoint_id, reading.c.read_at >= at).order_by(reading.c.read_at)
    ))
    pending = _events_between(conn, endpoint_id, at, rows[-1].read_at, inclusive=True) if rows else []
    for row in rows:
        while pending and pending[0].at <= row.read_at:
            walk.record(pending.pop(0))
        corrected = walk.read(_usable_kwh(row), row.read_at, row.power_w, ceiling_of(row), row.counter_reset_at)
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
    write_changes()
    rollup.rebuild(conn, endpoint_id, at)
    log.info("recomputed %d reading(s) of %s from %s", updated, endpoint_id, at.isoformat())
    return updated



# ----- batched writes -------------------------------------------------------------------------
def _events_query(ids: Any) -> Any:
    return (select(meter_event)
            .where(ids, meter_event.c.at <= bindparam("upto", type_=meter_event.c.at.type),
                   meter_event.c.at > bindparam("since", type_=meter_event.c.at.type))
            .order_by(meter_event.c.at, meter_event.c.id))


_EVENTS_QUERY = {  # built once; PostgreSQL takes the ids as one array, not one parameter each
    "postgresql": _events_query(meter_event.c.endpoint_id == any_(bindparam("ids", type_=postgresql.ARRAY(String)))),
    "sqlite": _events_query(meter_event.c.endpoint_id.in_(bindparam("ids", expanding=True))),
}


def store_batch(conn: Connection, raws: Sequence[RawReading]) -> list[StoreOutcome]:
    """Store many readings in one transaction with a few set-wise queries and one INSERT (``store_bulk``).

    The fast path covers the collector's case: one new reading per endpoint, later than anything
    stored for it. Several readings of one endpoint (a spool flushed after an outage) are stored in
    rounds, each endpoint's readings in time order, one reading per endpoint per round, so a flush
    goes at the batched rate; a reading older than what is stored goes through ``store_reading``.
    Outcomes are in the order given.
    """
    rounds = _rounds(raws)
    if len(rounds) <= 1:
        return _store_round(conn, raws)
    outcomes: list[StoreOutcome] = [StoreOutcome(False, None)] * len(raws)
    for indices in rounds:
        for index, outcome in zip(indices, _store_round(conn, [raws[i] for i in indices]), strict=True):
            outcomes[index] = outcome
    return outcomes


def _rounds(raws: Sequence[RawReading]) -> list[list[int]]:
    """Positions in ``raws`` grouped so each group holds one reading per endpoint, each endpoint's in time order."""
    by_endpoint: dict[str, list[int]] = defaultdict(list)
    for index, raw in enumerate(raws):
        by_endpoint[raw.endpoint_id].append(index)
    if len(by_endpoint) == len(raws):
        return [list(range(len(raws)))] if raws else []
    rounds: list[list[int]] = []
    for indices in by_endpoint.values():
        indices.sort(key=lambda i: raws[i].read_at)
        for depth, index in enumerate(indices):
            if depth == len(rounds):
                rounds.append([])
            rounds[depth].append(index)
    return rounds


def _events_of(conn: Connection, ids: list[str], good: dict[str, list[Any]], upto: datetime
               ) -> defaultdict[str, list[Any]]:
    """The swaps and corrections of ``ids`` recorded up to ``upto``, from their oldest newest usable reading on."""
    earliest = min((good[i][0].read_at for i in ids if good.get(i)), default=None)
    floor = (earliest - timedelta(seconds=1) if earliest is not None and all(good.get(i) for i in ids)
             else datetime(1, 1, 1, tzinfo=UTC))  # an endpoint without usable readings: a swap before any counts
    events: defaultdict[str, list[Any]] = defaultdict(list)
    for event_row in conn.execute(_EVENTS_QUERY[conn.dialect.name], {"ids": ids, "upto": upto, "since": floor}):
        events[event_row.endpoint_id].append(event_row)
    return events


def _store_round(conn: Connection, raws: Sequence[RawReading]) -> list[StoreOutcome]:
    """``store_batch`` for readings of distinct endpoints (one round)."""
    if not raws:
        return []
    store_bulk.ensure_partitions_cached(conn, min(r.read_at for r in raws), max(r.read_at for r in raws))
    per_endpoint: dict[str, int] = defaultdict(int)
    for raw in raws:
        per_endpoint[raw.endpoint_id] += 1
    ids = sorted(per_endpoint)
    newest = max(r.read_at for r in raws)
    info, last, good, with_events = store_bulk.latest(conn, ids, newest)
    events: dict[str, list[Any]] = defaultdict(list)
    if with_events:
        events = _events_of(conn, sorted(with_events), good, newest)
    fast: list[tuple[int, RawReading, Corrected | None, dict[str, Any]]] = []
    slow: list[int] = []
    for index, raw in enumerate(raws):
        previous = last.get(raw.endpoint_id)
        if per_endpoint[raw.endpoint_id] > 1 or (previous is not None and previous.read_at >= raw.read_at):
            slow.append(index)
            continue
        row = info.get(raw.endpoint_id)
        state = _state_from(good.get(raw.endpoint_id, []))
        since = [event_row for event_row in events.get(raw.endpoint_id, [])
                 if (state is None or event_row.at > state.read_at) and event_row.at <= raw.read_at]
        walk = CounterWalk(state, _rules(row) if row is not None else CounterRules(), since,
                           peak_lookup(conn, raw.endpoint_id))
        corrected = walk.read(_usable_kwh(raw), raw.read_at, raw.power_w, ceiling_of(raw), raw.counter_reset_at)
        totals = (Totals(previous.cum_good, previous.cum_failed, previous.cum_events, previous.cum_estimated_kwh)
                  if previous is not None else Totals()).after(corrected)
        fast.append((index, raw, corrected, _row_values(raw, corrected, totals)))
    outcomes: list[StoreOutcome | None] = [None] * len(raws)
    if fast:
        skipped = store_bulk.insert_readings(conn, [values for _, _, _, values in fast])
        for index, _raw, corrected, values in fast:
            outcomes[index] = StoreOutcome(values["reading_key"] not in skipped, corrected)
    for index in sorted(slow, key=lambda i: raws[i].read_at):
        outcomes[index] = store_reading(conn, raws[index])
    return [outcome for outcome in outcomes if outcome is not None]

