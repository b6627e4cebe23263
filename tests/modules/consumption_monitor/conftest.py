"""Fixtures: a migrated database (SQLite and PostgreSQL) and helpers to write endpoints and readings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.store import store_reading
from nxforge_modules.consumption_monitor.sync import SINCE_ALWAYS
from nxforge_modules.consumption_monitor.tables import client_assignment, endpoint
from sqlalchemy import Engine, insert

from nxforge.migrations.runner import migrate_module
from tests.modules.conftest import MODULES_DIR

MODULE_DIR = MODULES_DIR / "consumption_monitor"


@pytest.fixture
def cm_engine(engine: Engine) -> Iterator[Engine]:
    """An engine whose database has the module's tables (both dialects)."""
    migrate_module(engine, "consumption-monitor", MODULE_DIR / "migrations")
    yield engine


def add_endpoint(engine: Engine, endpoint_id: str, client: str = "acme", *, feed: str | None = None,
                 circuit_max_kw: float | None = None, rollover_kwh: float | None = 999999.9,
                 poll_interval_s: float = 900.0) -> None:
    """Insert an endpoint row (as a sync would) with its first client assignment."""
    with engine.begin() as conn:
        conn.execute(insert(endpoint).values(
            id=endpoint_id, name=endpoint_id.upper(), client=client, feed=feed, poll_interval_s=poll_interval_s,
            circuit_max_kw=circuit_max_kw, rollover_kwh=rollover_kwh, enabled=True, config_hash="x"))
        conn.execute(insert(client_assignment).values(endpoint_id=endpoint_id, client=client,
                                                      valid_from=SINCE_ALWAYS, recorded_at=SINCE_ALWAYS))


def write(engine: Engine, endpoint_id: str, at: datetime, raw_kwh: float | None, **extra: object) -> None:
    """Store one reading (None = a failed scrape)."""
    if raw_kwh is None:
        raw = RawReading(endpoint_id, at, False, error_class="unreachable", error_message="down")
    else:
        raw = RawReading(endpoint_id, at, True, raw_kwh=raw_kwh, **extra)  # type: ignore[arg-type]
    with engine.begin() as conn:
        store_reading(conn, raw)


def hourly(start: datetime, hours: int) -> list[datetime]:
    """``hours`` instants one hour apart from ``start``."""
    return [start + timedelta(hours=i) for i in range(hours)]


def utc(*parts: int) -> datetime:
    """A UTC datetime."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]
