"""Opening readings: the counter ops read off a new meter when it was installed.

A new endpoint is billed from its first scraped reading; energy drawn between installation and
that reading was never measured. When ops writes down the counter at installation, it is stored
as a reading (engine ``opening``) through the same store as every other reading, so the counter
correction and the running totals see it, and billing names the boundary "opening reading".
An ``import`` meter event (no energy of its own; the kinds are fixed by a CHECK in the tables) says
who recorded it and when, so an opening recorded after its month was closed explains the
adjustment line it brings.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine, insert

from .readings import RawReading
from .store import store_reading
from .tables import meter_event

log = logging.getLogger(__name__)

OPENING_ENGINE = "opening"


def record_opening_reading(engine: Engine, endpoint_id: str, *, at: datetime, kwh: float, who: str, why: str = "",
                           recorded_at: datetime | None = None) -> bool:
    """Store ops' reading of the counter at installation; False when one was already stored at ``at``."""
    if at.tzinfo is None:
        raise ValueError("give the time with its zone, e.g. 2026-10-01T00:00:00+02:00")
    if kwh < 0:
        raise ValueError("a meter counter cannot be negative")
    raw = RawReading(endpoint_id, at, True, raw_kwh=kwh, engine=OPENING_ENGINE,
                     error_message=f"opening reading recorded by {who}" + (f": {why}" if why else ""))
    with engine.begin() as conn:
        stored = store_reading(conn, raw).inserted
        if stored:
            conn.execute(insert(meter_event).values(
                endpoint_id=endpoint_id, at=at, kind="import", delta_kwh=0.0, who=who,
                why=f"opening reading {kwh} kWh" + (f": {why}" if why else ""),
                recorded_at=recorded_at or datetime.now(UTC)))
    log.info("opening reading of %s at %s: %s kWh (by %s)", endpoint_id, at.isoformat(), kwh, who)
    return stored
