"""Month close on SQLite and PostgreSQL: frozen statements, digests, append-only tables, the
estimated-share threshold, adjustments for corrections recorded after a close, reopen as version 2."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from nxforge_modules.consumption_monitor.corrections import record_correction
from nxforge_modules.consumption_monitor.line_contract import digest_of
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.readings_import import import_readings
from nxforge_modules.consumption_monitor.statements import (
    CloseRefused,
    StatementError,
    close_month,
    month_state,
    reopen_month,
    served_statements,
)
from nxforge_modules.consumption_monitor.store import store_batch
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.modules.consumption_monitor.conftest import add_endpoint, utc
from tests.modules.consumption_monitor.statement_reference import reference_source

BERLIN = ZoneInfo("Europe/Berlin")
NOW = utc(2026, 12, 15, 12)


@pytest.fixture
def site(cm_engine: Engine) -> Engine:
    """Three endpoints (two clients) read every 12 hours from mid-September to mid-December, 2 kW and 1 kW."""
    for endpoint_id, client in (("a-1", "acme"), ("a-2", "acme"), ("g-1", "globex")):
        add_endpoint(cm_engine, endpoint_id, client)
    start = utc(2026, 9, 20)
    for step in range(0, 24 * 86, 12):
        at = start + timedelta(hours=step)
        with cm_engine.begin() as conn:
            store_batch(conn, [RawReading("a-1", at, True, raw_kwh=100.0 + 2.0 * step),
                               RawReading("a-2", at, True, raw_kwh=5000.0 + 1.0 * step),
                               RawReading("g-1", at, True, raw_kwh=10.0 + 1.0 * step)])
    return cm_engine


def test_close_freezes_one_statement_per_client_and_serves_it_unchanged(site: Engine) -> None:
    source = reference_source(site, BERLIN)
    closed = close_month(site, "2026-10", BERLIN, NOW, source, who="finance", max_estimated_share=0.2)
    assert [s.number for s in closed] == ["ST-202610-ACME", "ST-202610-GLOBEX"]
    acme = closed[0]
    assert acme.version == 1 and acme.closed_by == "finance"
    assert acme.total_kwh == Decimal("2235.000")  # 745 h (DST) x 3 kW
    assert acme.total_amount == Decimal("670.50")  # 2235 x 1.5 x 0.20
    assert acme.digest == digest_of(acme.lines) and len(acme.digest) == 64
    state, served = served_statements(site, "2026-10", BERLIN, NOW + timedelta(days=1), source)
    assert state.label == "closed v1"
    assert [(s.number, s.digest, s.total_amount) for s in served] == [(s.number, s.digest, s.total_amount)
                                                                      for s in closed]
    assert served[0].lines.equals(acme.lines)
    with pytest.raises(StatementError, match="already closed"):
        close_month(site, "2026-10", BERLIN, NOW, source, who="finance", max_estimated_share=0.2)


def test_statement_tables_refuse_update_and_delete(site: Engine) -> None:
    close_month(site, "2026-10", BERLIN, NOW, reference_source(site, BERLIN), who="f", max_estimated_share=1)
    for sql in ("UPDATE cm_statement SET total_amount = '0'", "DELETE FROM cm_statement_line",
                "UPDATE cm_statement_line SET quantity = '1'", "DELETE FROM cm_month_close"):
        with pytest.raises(DBAPIError, match="append-only"), site.begin() as conn:
            conn.execute(text(sql))
    with site.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cm_statement_line")).scalar_one() == 3


def test_a_running_month_cannot_be_closed(site: Engine) -> None:
    with pytest.raises(StatementError, match="still running"):
        close_month(site, "2026-12", BERLIN, NOW, reference_source(site, BERLIN), who="f", max_estimated_share=1)
    assert month_state(site, "2026-12", BERLIN, NOW).label == "running (to date)"
    assert month_state(site, "2026-11", BERLIN, NOW).label == "open"


def test_close_is_refused_over_the_estimated_share_unless_confirmed(site: Engine) -> None:
    source = reference_source(site, BERLIN, estimated={"a-2": 0.35})
    with pytest.raises(CloseRefused) as refused:
        close_month(site, "2026-10", BERLIN, NOW, source, who="f", max_estimated_share=0.2)
    assert refused.value.over == [("acme", "a-2", 0.35)] and "--confirm-estimates" in refused.value.hint
    assert not month_state(site, "2026-10", BERLIN, NOW).closed
    closed = close_month(site, "2026-10", BERLIN, NOW, source, who="f", max_estimated_share=0.2,
                         confirm_estimates=True)
    assert closed[0].estimated_share == pytest.approx(round(745 * 0.35 / 2235, 4))


def test_a_correction_after_close_is_an_adjustment_on_the_next_open_month(site: Engine) -> None:
    source = reference_source(site, BERLIN)
    october = close_month(site, "2026-10", BERLIN, NOW, source, who="finance", max_estimated_share=1)
    record_correction(site, "a-1", at=utc(2026, 10, 20), delta_kwh=40.0, who="ops-ann", why="meter missed a day",
                      recorded_at=NOW + timedelta(hours=1))
    later = NOW + timedelta(hours=2)
    _, again = served_statements(site, "2026-10", BERLIN, later, source)
    assert again[0].digest == october[0].digest  # the closed statement never changes
    _, november = served_statements(site, "2026-11", BERLIN, later, source, client="acme")
    adjustment = november[0].lines.filter(pl.col("term") == "adjustment").row(0, named=True)
    assert adjustment["endpoint_id"] == "a-1" and adjustment["adjusts"] == "ST-202610-ACME"
    assert adjustment["quantity"] == Decimal("40.000") and adjustment["amount"] == Decimal("12.00")
    assert "ops-ann" in adjustment["description"] and "meter missed a day" in adjustment["description"]
    _, december = served_statements(site, "2026-12", BERLIN, later, source, client="acme")
    assert december[0].lines.filter(pl.col("term") == "adjustment").is_empty()  # November is still open
    closed_november = close_month(site, "2026-11", BERLIN, later, source, who="finance", max_estimated_share=1)
    assert closed_november[0].lines.filter(pl.col("term") == "adjustment").height == 1
    _, december = served_statements(site, "2026-12", BERLIN, later, source, client="acme")
    assert december[0].lines.filter(pl.col("term") == "adjustment").is_empty()  # adjusted once, not twice
    with pytest.raises(StatementError, match=r"ST-202611-ACME\) already bill adjustments"):
        reopen_month(site, "2026-10", BERLIN, later, who="root", role="admin", reason="swap found")  # would bill twice
    assert month_state(site, "2026-10", BERLIN, later).label == "closed v1"


def test_readings_imported_into_a_closed_month_are_an_adjustment_not_a_change(site: Engine, tmp_path: Path) -> None:
    """A paper reading of a-1 at October's first instant, imported after October was closed: the closed
    statement keeps its figures; November carries the energy the import revealed, once."""
    source = reference_source(site, BERLIN)
    october = close_month(site, "2026-10", BERLIN, NOW, source, who="finance", max_estimated_share=1)
    sheet = tmp_path / "paper.csv"  # 1 October 00:00 Berlin = 30 September 22:00 UTC, between 604 and 628 kWh
    sheet.write_text("endpoint,time,kwh\na-1,2026-10-01T00:00:00+02:00,610\n")
    assert import_readings(site, sheet, now=NOW + timedelta(hours=1), who="fin-bob").stored == 1
    later = NOW + timedelta(hours=2)
    _, again = served_statements(site, "2026-10", BERLIN, later, source)
    assert [s.digest for s in again] == [s.digest for s in october]
    _, november = served_statements(site, "2026-11", BERLIN, later, source, client="acme")
    adjustments = november[0].lines.filter(pl.col("term") == "adjustment")
    assert adjustments["endpoint_id"].to_list() == ["a-1"]
    line = adjustments.row(0, named=True)
    assert line["quantity"] == Decimal("14.000")  # the start moves from 624 (interpolated) to 610 (read)
    assert line["amount"] == Decimal("4.20")  # 14 x 1.5 x 0.20, at October's prices
    assert "fin-bob" in line["description"] and "imported from paper.csv" in line["description"]
    close_month(site, "2026-11", BERLIN, later, source, who="finance", max_estimated_share=1)
    _, december = served_statements(site, "2026-12", BERLIN, later, source, client="acme")
    assert december[0].lines.filter(pl.col("term") == "adjustment").is_empty()  # adjusted once, not twice


def test_reopen_is_for_admins_and_the_next_close_is_version_2(site: Engine) -> None:
    source = reference_source(site, BERLIN)
    first = close_month(site, "2026-10", BERLIN, NOW, source, who="finance", max_estimated_share=1)
    with pytest.raises(StatementError, match="only an admin"):
        reopen_month(site, "2026-10", BERLIN, NOW, who="finance", role="finance", reason="typo")
    assert reopen_month(site, "2026-10", BERLIN, NOW, who="root", role="admin", reason="meter swap found") == 1
    assert month_state(site, "2026-10", BERLIN, NOW).label == "reopened (v1 kept)"
    record_correction(site, "g-1", at=utc(2026, 10, 5), delta_kwh=10.0, who="ops", why="swap",
                      recorded_at=NOW + timedelta(minutes=5))
    second = close_month(site, "2026-10", BERLIN, NOW + timedelta(minutes=10), source, who="finance",
                         max_estimated_share=1)
    assert [s.number for s in second] == ["ST-202610-ACME-V2", "ST-202610-GLOBEX-V2"]
    assert second[1].total_kwh == first[1].total_kwh + 10
    assert month_state(site, "2026-10", BERLIN, NOW).label == "closed v2"
    with site.connect() as conn:
        versions = conn.execute(text("SELECT number FROM cm_statement ORDER BY id")).scalars().all()
    assert versions == ["ST-202610-ACME", "ST-202610-GLOBEX", "ST-202610-ACME-V2", "ST-202610-GLOBEX-V2"]
    _, november = served_statements(site, "2026-11", BERLIN, NOW + timedelta(hours=1), source)
    assert all(s.lines.filter(pl.col("term") == "adjustment").is_empty() for s in november)
