"""Honest coverage: opening readings, a meter that was failing before its first good reading, the
running month computed at one instant, the endpoint tables' no-data months (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import polars as pl
import pytest
from nxforge_modules.consumption_monitor.billing import billing_by_client, billing_by_endpoint, statement_lines
from nxforge_modules.consumption_monitor.coverage import interior_gaps
from nxforge_modules.consumption_monitor.openings import record_opening_reading
from nxforge_modules.consumption_monitor.periods import resolve_period
from nxforge_modules.consumption_monitor.terms import ClientTerms
from sqlalchemy import Engine

from tests.modules.consumption_monitor.conftest import add_endpoint, utc, write
from tests.modules.consumption_monitor.test_billing_reference import BERLIN, OCT_END, OCT_START, local

ACME = {"acme": ClientTerms(name="acme", rate_per_kwh=0.25)}


def energy(lines: pl.DataFrame, endpoint_id: str) -> dict:  # type: ignore[type-arg]
    return lines.filter((pl.col("endpoint_id") == endpoint_id) & (pl.col("term") == "energy")).row(0, named=True)


def test_opening_reading_bills_from_installation(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "new")
    first = local(2026, 10, 3, 10).astimezone(UTC)  # steps in real time (aware arithmetic in one zone is wall-clock)
    at = first
    while at < local(2026, 11, 1, 6):
        write(cm_engine, "new", at, round(500.0 + 2.0 * (at - first).total_seconds() / 3600, 3))
        at += timedelta(hours=6)
    before = energy(statement_lines(cm_engine, "2026-10", BERLIN, utc(2026, 12, 1), clients=ACME), "new")
    assert before["start_method"] == "held"
    assert "billed from the first reading 2026-10-03 10:00" in before["description"]
    assert float(before["quantity"]) == pytest.approx(2.0 * (OCT_END - first).total_seconds() / 3600, abs=0.01)
    installed = local(2026, 10, 1, 9)
    assert record_opening_reading(cm_engine, "new", at=installed, kwh=402.0, who="ops", why="installed")
    after = energy(statement_lines(cm_engine, "2026-10", BERLIN, utc(2026, 12, 1), clients=ACME), "new")
    assert after["start_method"] == "opening reading" and after["start_counter_kwh"] == 402.0
    assert float(after["quantity"]) == pytest.approx(float(before["quantity"]) + 98.0, abs=0.01)


def test_a_meter_failing_before_its_first_reading_is_extrapolated_back_only_that_far(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "flaky")
    write(cm_engine, "flaky", OCT_START - timedelta(hours=5), None)  # read and failing before the month
    first = OCT_START + timedelta(hours=2)
    for hour in range(0, 48):
        write(cm_engine, "flaky", first + timedelta(hours=hour), 100.0 + 2.0 * hour)
    lines = statement_lines(cm_engine, "2026-10", BERLIN, utc(2026, 12, 1), clients=ACME)
    flaky = energy(lines, "flaky")
    assert flaky["start_method"] == "extrapolated" and flaky["start_counter_kwh"] == pytest.approx(96.0)
    assert flaky["estimated_kwh"] == pytest.approx(4.0, abs=0.001)  # 2 h at 2 kW, before the first reading


def test_running_month_is_computed_at_one_instant_and_no_data_is_null(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "e1")
    add_endpoint(cm_engine, "silent")
    start = at = local(2026, 9, 30, 12).astimezone(UTC)
    while at < local(2026, 10, 14):
        write(cm_engine, "e1", at, round(10.0 + 2.0 * (at - start).total_seconds() / 3600, 3))
        at += timedelta(hours=3)
    now = local(2026, 10, 13, 23, 30)
    lines = statement_lines(cm_engine, "2026-10", BERLIN, now, clients=ACME)
    assert set(lines["status"]) == {"to date", "no data"}
    assert lines["period_end"].max() == now
    assert energy(lines, "e1")["amount"] == Decimal("155.75")  # 623 kWh x 0.25
    table = billing_by_endpoint(cm_engine, "2026-10", BERLIN, now, clients=ACME)
    silent = table.filter(pl.col("endpoint_id") == "silent").row(0, named=True)
    assert silent["kwh"] is None and silent["change"] is None and silent["amount"] is None
    first = table.filter(pl.col("endpoint_id") == "e1").row(0, named=True)
    assert first["previous_month_kwh"] == pytest.approx(24.0) and first["amount"] == Decimal("155.75")
    clients = billing_by_client(cm_engine, "2026-10", BERLIN, now, clients=ACME)
    assert clients["amount"].to_list() == [Decimal("155.75")]


def test_gaps_from_the_hourly_rollup_equal_gaps_from_the_readings(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "holey")
    start = OCT_START - timedelta(hours=3)
    for half_hour in range(0, 2 * 24 * 3):  # read every 30 min, but for gaps of 3.5 h, 10.5 h and 2 h
        if not (10 <= half_hour < 16 or 60 <= half_hour < 80 or 100 <= half_hour < 103):
            write(cm_engine, "holey", start + timedelta(minutes=30 * half_hour), 1.0 + half_hour)
    period = resolve_period("2026-10", BERLIN, utc(2026, 12, 1))
    with cm_engine.connect() as conn:
        for gap_after in (3600.0, 7200.0):
            from_rollup = interior_gaps(conn, period, ["holey"], gap_after)
            from_readings = interior_gaps(conn, period, ["holey"], gap_after, use_rollup=False)
            assert from_rollup == from_readings and len(from_rollup["holey"]) == (3 if gap_after == 3600 else 2)


def test_a_meter_read_every_six_hours_as_configured_has_no_gaps(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "slow", poll_interval_s=6 * 3600)
    for step in range(0, 4 * 10):
        write(cm_engine, "slow", OCT_START - timedelta(hours=3) + timedelta(hours=6 * step), 10.0 + 12.0 * step)
    week = (local(2026, 10, 1), local(2026, 10, 8))
    slow = energy(statement_lines(cm_engine, resolve_period(week, BERLIN, utc(2026, 12, 1)), BERLIN,
                                  utc(2026, 12, 1), clients=ACME), "slow")
    assert slow["covered_hours"] == slow["period_hours"] == 168.0 and slow["estimated_kwh"] == 0.0
    assert float(slow["quantity"]) == pytest.approx(2.0 * 168)
