"""A client user's scope is applied inside the query functions (SQLite and PostgreSQL): called with
``client="acme"`` they return nothing of globex's endpoints, even when asked for them by id."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from nxforge_modules.consumption_monitor.billing import statement_lines
from nxforge_modules.consumption_monitor.energy_queries import energy_per_period, power_series
from nxforge_modules.consumption_monitor.loads import rack_loads
from nxforge_modules.consumption_monitor.queries import (
    client_endpoint_ids,
    event_readings,
    history,
    history_rollup,
    live_status,
)
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.statements import close_month, served_statements
from nxforge_modules.consumption_monitor.store import store_batch
from nxforge_modules.consumption_monitor.terms import ClientTerms
from sqlalchemy import Engine, text

from .conftest import add_endpoint, utc, write

BERLIN = ZoneInfo("Europe/Berlin")
START = utc(2026, 3, 1)
NOW = utc(2026, 4, 10)
ACME = ["a-1", "a-2"]
EVERY = ["a-1", "a-2", "g-1"]
CLIENTS = {"acme": ClientTerms(name="acme", rate_per_kwh=0.2), "globex": ClientTerms(name="globex", rate_per_kwh=0.3)}


@pytest.fixture
def site(cm_engine: Engine) -> Engine:
    """acme's two feeds and globex's one circuit in the same rack, read every 6 hours through March; globex's
    meter has a reset (an event) and a counter nobody else has (98,765.4 kWh)."""
    for endpoint_id, client, feed in (("a-1", "acme", "A"), ("a-2", "acme", "B"), ("g-1", "globex", "A")):
        add_endpoint(cm_engine, endpoint_id, client, feed=feed, circuit_max_kw=10.0)
    with cm_engine.begin() as conn:
        conn.execute(text("UPDATE cm_endpoint SET location = 'Room 1 / Row A / Rack 01'"))
    batch = []
    for step in range(0, 24 * 33, 6):
        at = START + timedelta(hours=step)
        globex = 98765.4 + 7.0 * step if step < 402 else 5.0 + 7.0 * (step - 402)  # a reset at hour 402
        batch += [RawReading("a-1", at, True, raw_kwh=100.0 + 2.0 * step, power_w=2000.0),
                  RawReading("a-2", at, True, raw_kwh=500.0 + 1.0 * step, power_w=1000.0),
                  RawReading("g-1", at, True, raw_kwh=globex, power_w=7000.0)]
    with cm_engine.begin() as conn:
        store_batch(conn, batch)
    write(cm_engine, "g-1", NOW - timedelta(hours=1), None)  # a failed read of globex's
    return cm_engine


def _only_acme(frame: pl.DataFrame, column: str = "endpoint_id") -> None:
    assert not frame.is_empty()
    assert set(frame[column].to_list()) <= set(ACME), frame[column].unique().to_list()


def test_live_status_and_racks_list_only_the_clients_endpoints(site: Engine) -> None:
    everyone = live_status(site, NOW, 3600)
    assert sorted(everyone["endpoint_id"]) == EVERY
    own = live_status(site, NOW, 3600, client="acme")
    assert sorted(own["endpoint_id"]) == ACME and set(own["client"]) == {"acme"}
    assert live_status(site, NOW, 3600, client="nobody").is_empty()
    assert client_endpoint_ids(site, "acme") == ACME
    racks = rack_loads(own.with_columns(pl.lit(None, pl.Float64).alias("month_kwh")), 80, 95)
    rack = racks.row(0, named=True)
    assert (rack["a_kw"], rack["b_kw"], rack["total_kw"]) == (2.0, 1.0, 3.0)  # globex's 7 kW on feed A left out


def test_readings_rollups_and_events_ignore_other_clients_ids(site: Engine) -> None:
    start, end = START, START + timedelta(days=33)
    assert not history(site, EVERY, start, end).filter(pl.col("endpoint_id") == "g-1").is_empty()
    _only_acme(history(site, EVERY, start, end, include_failed=True, client="acme"))
    assert history(site, ["g-1"], start, end, client="acme").is_empty()
    assert not event_readings(site, EVERY, start, end).is_empty()  # globex's reset
    assert event_readings(site, EVERY, start, end, client="acme").is_empty()
    for bucket in ("hour", "day"):
        rolled = history_rollup(site, EVERY, start + timedelta(days=2), end, bucket=bucket, tz=BERLIN, client="acme")
        _only_acme(rolled)
        assert float(rolled.filter(pl.col("endpoint_id") == "a-1")["kwh"].sum()) == pytest.approx(
            2.0 * (24 * 33 - 6 - 42), abs=0.01)  # from the last reading before the range to the last one


def test_energy_and_power_views_ignore_other_clients_ids(site: Engine) -> None:
    start, end = utc(2026, 3, 2), utc(2026, 3, 9)
    energy = energy_per_period(site, EVERY, start, end, "day", BERLIN, client="acme")
    _only_acme(energy)
    assert 98765.4 not in energy["kwh"].to_list()
    assert not energy_per_period(site, EVERY, start, end, "day", BERLIN).filter(pl.col("endpoint_id") == "g-1"
                                                                                 ).is_empty()
    _only_acme(power_series(site, EVERY, start, end, client="acme"))  # from the readings
    _only_acme(power_series(site, EVERY, START, START + timedelta(days=33), client="acme"))  # from the rollup
    assert set(power_series(site, ["g-1"], start, end)["kw"].to_list()) == {7.0}
    assert power_series(site, ["g-1"], start, end, client="acme").is_empty()


def test_statements_open_and_closed_are_served_for_the_one_client(site: Engine) -> None:
    lines = statement_lines(site, "2026-03", BERLIN, NOW, clients=CLIENTS, client="acme")
    _only_acme(lines)
    assert set(lines["client"]) == {"acme"}

    def source(month: str, at: object, client: str | None) -> pl.DataFrame:
        return statement_lines(site, month, BERLIN, NOW, clients=CLIENTS, client=client)

    _, drafts = served_statements(site, "2026-03", BERLIN, NOW, source, client="acme")
    assert [item.client for item in drafts] == ["acme"]
    close_month(site, "2026-03", BERLIN, NOW, source, who="finance", max_estimated_share=1.0)
    state, served = served_statements(site, "2026-03", BERLIN, NOW, source, client="acme")
    assert state.closed and [item.client for item in served] == ["acme"]
    _only_acme(served[0].lines)
    _, every = served_statements(site, "2026-03", BERLIN, NOW, source)
    assert [item.client for item in every] == ["acme", "globex"]
