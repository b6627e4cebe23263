"""Meter swaps and manual corrections recorded by ops, and the recomputation they trigger.

A swap says: at ``at`` the old meter showed ``old_final_kwh`` and was replaced by one showing
``new_initial_kwh``. A correction adds ``delta_kwh`` to the corrected counter from ``at`` on
(e.g. energy a broken meter missed, agreed with the client). Both are kept with who and why,
and every reading after ``at`` is recomputed at once, so billing stays a pair of look-ups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select

from nxforge.sdk import NxForgeError

from .store import recompute_from
from .tables import endpoint, meter_event

log = logging.getLogger(__name__)


class UnknownEndpointError(NxForgeError, LookupError):
    """No endpoint with that id in the database (sync the YAML first, or check the spelling)."""


@dataclass(frozen=True)
class Recorded:
    """A recorded meter event and how many readings it changed."""

    event_id: int
    recomputed: int


def _require_endpoint(engine: Engine, endpoint_id: str) -> None:
    with engine.connect() as conn:
        if conn.execute(select(endpoint.c.id).where(endpoint.c.id == endpoint_id)).first() is None:
            known = [row.id for row in conn.execute(select(endpoint.c.id).order_by(endpoint.c.id).limit(20))]
            listed = ", ".join(known) or "none yet (run a collect to sync the YAML)"
            raise UnknownEndpointError(f"no endpoint {endpoint_id!r}; known: {listed}",
                                       hint="check the spelling of the endpoint id")


def _record(engine: Engine, endpoint_id: str, at: datetime, recorded_at: datetime, **values: object) -> Recorded:
    if at.tzinfo is None:
        raise ValueError("give the time with its zone, e.g. 2026-04-01T10:00:00+02:00")
    _require_endpoint(engine, endpoint_id)
    with engine.begin() as conn:
        result = conn.execute(insert(meter_event).values(endpoint_id=endpoint_id, at=at, recorded_at=recorded_at,
                                                         **values))
        key = result.inserted_primary_key
        assert key is not None
        changed = recompute_from(conn, endpoint_id, at)
    log.info("%s recorded for %s at %s; %d reading(s) recomputed", values.get("kind"), endpoint_id, at, changed)
    return Recorded(int(key[0]), changed)


def record_swap(engine: Engine, endpoint_id: str, *, at: datetime, old_final_kwh: float, new_initial_kwh: float,
                who: str, why: str, recorded_at: datetime) -> Recorded:
    """Record a meter swap and recompute every later reading of the endpoint."""
    if old_final_kwh < 0 or new_initial_kwh < 0:
        raise ValueError("meter values cannot be negative")
    return _record(engine, endpoint_id, at, recorded_at, kind="swap", old_final_kwh=old_final_kwh,
                   new_initial_kwh=new_initial_kwh, who=who, why=why)


def record_correction(engine: Engine, endpoint_id: str, *, at: datetime, delta_kwh: float, who: str, why: str,
                      recorded_at: datetime) -> Recorded:
    """Record a manual correction of ``delta_kwh`` and recompute every later reading."""
    return _record(engine, endpoint_id, at, recorded_at, kind="correction", delta_kwh=delta_kwh, who=who, why=why)
