"""Mirror the endpoint YAML into ``cm_endpoint``: insert new, update changed, retire removed.

Readings are never deleted: a removed endpoint only gets ``retired_at`` (and comes back if it
reappears), and only when the whole folder was read: while a file or endpoint is refused, nothing is
retired (the endpoints of a file that does not parse are unknown, not removed). A change of ``client``
is appended to ``cm_client_assignment`` from the sync on, so past months keep billing the client who
was there; a ``client_history`` is mirrored as written (a corrected date replaces the wrong row), closed
months being served from their frozen statements whatever the rows say now.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, delete, insert, select, text, update

from nxforge.sdk import ConfigProblem

from .config import Endpoint, EndpointSet
from .counters import declared_resettable, declared_rollover_kwh
from .tables import client_assignment, endpoint

log = logging.getLogger(__name__)

SINCE_ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class SyncReport:
    """What a sync changed, by endpoint id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    reclients: list[str] = field(default_factory=list)
    dropped_assignments: list[tuple[str, datetime, str]] = field(default_factory=list)
    """(endpoint, valid_from, client) rows a corrected client_history no longer lists (also logged)."""
    problems: list[ConfigProblem] = field(default_factory=list)
    """What the YAML had that could not be read (those endpoints were left as they were)."""


def config_hash(item: Endpoint) -> str:
    """A fingerprint of the endpoint's YAML, to update only what changed."""
    dumped = json.dumps(item.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(dumped.encode()).hexdigest()


def _row_values(item: Endpoint, default_poll_s: float, default_rollover_kwh: float | None,
                default_max_kw: float | None) -> dict[str, object]:
    # The endpoint's own value, else where its counter is declared to wrap (preset), else the module default.
    rollover = item.rollover_kwh if item.rollover_kwh is not None else declared_rollover_kwh(item.scrape,
                                                                                           default_rollover_kwh)
    return {
        "name": item.name, "client": item.client, "location": item.location, "feed": item.feed,
        "type": item.type, "vendor": item.vendor, "poll_interval_s": item.poll_interval_s(default_poll_s),
        "circuit_max_kw": item.circuit_max_kw, "default_max_kw": default_max_kw or None,
        "rollover_kwh": rollover or None, "resettable": declared_resettable(item.scrape), "enabled": item.enabled,
        "config_hash": config_hash(item),
    }


def desired_assignments(item: Endpoint, tz: ZoneInfo) -> list[tuple[datetime, str]]:
    """(valid_from UTC, client) pairs the YAML implies; history dates are midnights in site time."""
    periods = [(datetime.combine(p.from_, time(0), tzinfo=tz).astimezone(UTC), p.client) for p in item.client_history]
    if not periods:
        return [(SINCE_ALWAYS, item.client)]
    return periods


def _assignment_changes(item: Endpoint, existing: set[tuple[datetime, str]], tz: ZoneInfo, now: datetime
                        ) -> tuple[list[tuple[datetime, str]], list[tuple[datetime, str]]]:
    """(rows to append, rows to drop) so the endpoint's assignments say what the YAML says.

    With ``client_history`` the YAML is the whole truth from its first date on: a row it no longer
    lists (a mistyped date, since corrected) is dropped, rows it still lists keep their ``recorded_at``,
    rows before its first date stay. Closed months are served from their frozen statements, so only
    open months follow. Without it, a change of ``client`` is appended from now on.
    """
    if item.client_history:
        desired = desired_assignments(item, tz)
        first = min(when for when, _ in desired)
        stale = sorted(pair for pair in existing if pair[0] >= first and pair not in desired)
        return [pair for pair in desired if pair not in existing], stale
    if not existing:
        return [(SINCE_ALWAYS, item.client)], []
    current = max(existing, key=lambda pair: pair[0])[1]
    return ([(now, item.client)] if current != item.client else []), []


def sync_endpoints(engine: Engine, endpoints: EndpointSet, *, now: datetime, tz: ZoneInfo,
                   default_poll_s: float, default_rollover_kwh: float | None,
                   default_max_kw: float | None, retire: bool = True) -> SyncReport:
    """Bring ``cm_endpoint`` and client assignments in line with the YAML, in one transaction.

    The module-wide defaults (poll interval, rollover, plausible power) are copied onto each row,
    so the write path reads every rule of an endpoint from its row. ``retire=False`` (part of the YAML
    was refused) leaves endpoints missing from ``endpoints`` as they are.
    """
    report = SyncReport()
    wanted = endpoints.by_id()
    with engine.begin() as conn:  # set-wise: two reads, then one executemany per kind of change
        if conn.dialect.name == "postgresql":
            # Collectors started together sync the same new endpoints: one at a time, each reading what the
            # one before committed (SQLite's BEGIN IMMEDIATE already does this).
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('cm_endpoint_sync'))"))
        rows = {row.id: row for row in conn.execute(select(endpoint.c.id, endpoint.c.config_hash,
                                                           endpoint.c.retired_at, endpoint.c.rollover_kwh,
                                                           endpoint.c.poll_interval_s,
                                                           endpoint.c.default_max_kw, endpoint.c.resettable))}
        assigned: dict[str, set[tuple[datetime, str]]] = {}
        for endpoint_id, valid_from, client in conn.execute(select(
                client_assignment.c.endpoint_id, client_assignment.c.valid_from, client_assignment.c.client)):
            assigned.setdefault(endpoint_id, set()).add((valid_from, client))
        inserts: list[dict[str, object]] = []
        updates: list[dict[str, object]] = []
        assignments: list[dict[str, object]] = []
        dropped: list[tuple[str, datetime, str]] = []
        for endpoint_id, item in wanted.items():
            values = _row_values(item, default_poll_s, default_rollover_kwh, default_max_kw)
            row = rows.get(endpoint_id)
            if row is None:
                inserts.append({"id": endpoint_id, **values})
                report.added.append(endpoint_id)
            elif (row.config_hash != values["config_hash"] or row.retired_at is not None
                  or row.rollover_kwh != values["rollover_kwh"] or row.poll_interval_s != values["poll_interval_s"]
                  or row.default_max_kw != values["default_max_kw"] or row.resettable != values["resettable"]):
                updates.append({"key": endpoint_id, "retired_at": None, **values})
                report.updated.append(endpoint_id)
            missing, stale = _assignment_changes(item, assigned.get(endpoint_id, set()), tz, now)
            assignments += [{"endpoint_id": endpoint_id, "client": client, "valid_from": valid_from,
                             "recorded_at": now} for valid_from, client in missing]
            dropped += [(endpoint_id, valid_from, client) for valid_from, client in stale]
            if missing or stale:
                report.reclients.append(endpoint_id)
        for endpoint_id, row in rows.items():
            if retire and endpoint_id not in wanted and row.retired_at is None:
                report.retired.append(endpoint_id)
        if inserts:
            conn.execute(insert(endpoint), inserts)
        for shape in {tuple(sorted(change)) for change in updates}:  # executemany wants one set of keys
            same = [change for change in updates if tuple(sorted(change)) == shape]
            conn.execute(update(endpoint).where(endpoint.c.id == bindparam("key")), same)
        if report.retired:
            conn.execute(update(endpoint).where(endpoint.c.id.in_(report.retired)).values(retired_at=now))
        for endpoint_id, valid_from, client in dropped:
            log.warning("client_history of %s no longer says %s from %s: assignment row dropped",
                        endpoint_id, client, valid_from.isoformat())
            conn.execute(delete(client_assignment).where(
                client_assignment.c.endpoint_id == endpoint_id, client_assignment.c.valid_from == valid_from,
                client_assignment.c.client == client))
        report.dropped_assignments = dropped
        if assignments:
            conn.execute(insert(client_assignment), assignments)
    if report.added or report.updated or report.retired:
        log.info("endpoints synced: %d added, %d updated, %d retired",
                 len(report.added), len(report.updated), len(report.retired))
    return report
