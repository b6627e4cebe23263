"""Adjustments of closed months on SQLite and PostgreSQL: whatever changes a closed month after its close
(a late reading, a paper reading after the end, a meter answering again, an opening reading, a correction)
is billed once on the next open month, in kWh at the frozen client, price and factor, overage included,
rounded to the currency's minor unit; the closed statement itself never changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from nxforge_modules.consumption_monitor.billing import statement_lines
from nxforge_modules.consumption_monitor.corrections import record_correction
from nxforge_modules.consumption_monitor.line_contract import LineSource
from nxforge_modules.consumption_monitor.openings import record_opening_reading
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.readings_import import import_readings
from nxforge_modules.consumption_monitor.statements import Statement, close_month, reopen_month, served_statements
from nxforge_modules.consumption_monitor.store import store_batch
from nxforge_modules.consumption_monitor.tables import client_assignment, reading
from nxforge_modules.consumption_monitor.terms import ClientTerms
from sqlalchemy import Engine, delete, insert

from tests.modules.consumption_monitor.conftest import add_endpoint, utc, write

BERLIN = ZoneInfo("Europe/Berlin")
NOW = utc(2026, 12, 15, 12)
START = utc(2026, 9, 20)
BURST = utc(2026, 10, 31, 20)  # 40 kWh drawn 31 Oct 20:00-22:00 UTC, still October in Berlin


def _source(engine: Engine, clients: dict[str, ClientTerms], tz: ZoneInfo = BERLIN) -> LineSource:
    """The statement lines billing computes (what the app closes and serves)."""
    return lambda month, at, client: statement_lines(engine, month, tz, at, clients=clients, client=client)


def _bursty(at: datetime) -> float:
    hours = (at - START).total_seconds() / 3600
    return 100.0 + 2.0 * hours + (40.0 if at >= BURST + timedelta(hours=2) else 0.0)


def _write_every_12h(engine: Engine, counter: Callable[[datetime], float], *, gap: bool = False) -> None:
    """Readings of a-1 every 12 h from 20 Sep to mid-December; ``gap``: none 31 Oct 06:00 .. 1 Nov 06:00 UTC."""
    for step in range(0, 24 * 86, 12):
        at = START + timedelta(hours=step)
        if gap and utc(2026, 10, 31, 6) < at < utc(2026, 11, 1, 6):
            continue
        write(engine, "a-1", at, counter(at))


def _adjustments(item: Statement) -> pl.DataFrame:
    return item.lines.filter(pl.col("term") == "adjustment")


def _energy(item: Statement) -> pl.DataFrame:
    return item.lines.filter(pl.col("term") == "energy")


def _billed_kwh(october: Statement, november: Statement) -> Decimal:
    """October's frozen kWh, November's kWh and November's kWh adjustments to October."""
    adjusted = _adjustments(november).filter(pl.col("unit") == "kWh", pl.col("endpoint_id") != "")
    return october.total_kwh + november.total_kwh + sum(adjusted["quantity"].to_list(), Decimal(0))


def _meter_rise(october: Statement, november: Statement) -> Decimal:
    rise = _energy(november)["end_counter_kwh"][0] - _energy(october)["start_counter_kwh"][0]
    return Decimal(str(round(rise, 3))).quantize(Decimal("0.001"))


def _check_frozen(engine: Engine, source: LineSource, october: list[Statement], at: datetime) -> None:
    _, again = served_statements(engine, "2026-10", BERLIN, at, source)
    assert [(s.number, s.digest, s.total_amount) for s in again] == [(s.number, s.digest, s.total_amount)
                                                                     for s in october]


def test_a_late_spooled_reading_before_the_end_is_billed_once(cm_engine: Engine) -> None:
    """s1: a reading of 31 Oct 23:30 Berlin flushed from the spool after October was closed."""
    add_endpoint(cm_engine, "a-1", "acme")
    source = _source(cm_engine, {"acme": ClientTerms(name="acme", rate_per_kwh=0.2)})
    _write_every_12h(cm_engine, _bursty, gap=True)
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="fin", max_estimated_share=1,
                          confirm_estimates=True)
    late = utc(2026, 10, 31, 22, 30)
    write(cm_engine, "a-1", late, _bursty(late))
    later = NOW + timedelta(hours=1)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    adjustment = _adjustments(november[0]).row(0, named=True)
    assert adjustment["quantity"] == Decimal("14.444") and adjustment["amount"] == Decimal("2.89")
    assert adjustment["unit_price"] == Decimal("0.2") and adjustment["adjusts"] == "ST-202610-ACME"
    assert _billed_kwh(october[0], november[0]) == _meter_rise(october[0], november[0]) == Decimal("2970.000")
    close_month(cm_engine, "2026-11", BERLIN, later, source, who="fin", max_estimated_share=1, confirm_estimates=True)
    _, december = served_statements(cm_engine, "2026-12", BERLIN, later, source)
    assert _adjustments(december[0]).is_empty()  # billed once, not again on December


def test_a_meter_answering_after_an_extrapolated_end_is_not_billed_twice(cm_engine: Engine) -> None:
    """s12: October's end extrapolated (meter unreachable, rack off); the meter answers again on 2 Nov."""
    add_endpoint(cm_engine, "a-1", "acme")
    source = _source(cm_engine, {"acme": ClientTerms(name="acme", rate_per_kwh=0.2)})
    counter, at = 100.0, START
    while at <= BURST:
        write(cm_engine, "a-1", at, counter)
        at, counter = at + timedelta(hours=1), counter + 2.0
    counter -= 2.0  # the rack was switched off after the 20:00 reading
    october = close_month(cm_engine, "2026-10", BERLIN, utc(2026, 11, 1, 8), source, who="f",
                          max_estimated_share=1, confirm_estimates=True)
    assert _energy(october[0])["end_method"].to_list() == ["extrapolated"]
    at = utc(2026, 11, 2)
    while at <= utc(2026, 12, 2):
        write(cm_engine, "a-1", at, counter)
        at, counter = at + timedelta(hours=1), counter + 2.0
    _check_frozen(cm_engine, source, october, utc(2026, 12, 5))
    _, november = served_statements(cm_engine, "2026-11", BERLIN, utc(2026, 12, 5), source)
    adjustment = _adjustments(november[0]).row(0, named=True)
    assert adjustment["quantity"] == Decimal("-6.000") and adjustment["amount"] == Decimal("-1.20")
    assert _billed_kwh(october[0], november[0]) == _meter_rise(october[0], november[0])
    # November closed with that adjustment, reopened and closed again: version 2 still carries it, once.
    close_month(cm_engine, "2026-11", BERLIN, utc(2026, 12, 5), source, who="f", max_estimated_share=1,
                confirm_estimates=True)
    reopen_month(cm_engine, "2026-11", BERLIN, utc(2026, 12, 5, 1), who="admin", role="admin", reason="fix")
    again = close_month(cm_engine, "2026-11", BERLIN, utc(2026, 12, 5, 2), source, who="f", max_estimated_share=1,
                        confirm_estimates=True)
    assert again[0].version == 2 and _adjustments(again[0])["quantity"].to_list() == [Decimal("-6.000")]
    _, december = served_statements(cm_engine, "2026-12", BERLIN, utc(2026, 12, 5, 3), source)
    assert _adjustments(december[0]).height == 0


def test_a_paper_reading_after_the_end_imported_after_the_close(cm_engine: Engine, tmp_path: Path) -> None:
    """s2: a paper reading of 1 Nov 00:30 Berlin moves October's end counter; imported after the close."""
    add_endpoint(cm_engine, "a-1", "acme")
    source = _source(cm_engine, {"acme": ClientTerms(name="acme", rate_per_kwh=0.2)})
    _write_every_12h(cm_engine, _bursty, gap=True)
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="fin", max_estimated_share=1,
                          confirm_estimates=True)
    paper_at = utc(2026, 10, 31, 23, 30)
    sheet = tmp_path / "paper.csv"
    sheet.write_text(f"endpoint,time,kwh\na-1,{paper_at.astimezone(BERLIN).isoformat()},{_bursty(paper_at)}\n")
    assert import_readings(cm_engine, sheet, now=NOW + timedelta(hours=1), who="fin-bob").stored == 1
    later = NOW + timedelta(hours=2)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    adjustment = _adjustments(november[0]).row(0, named=True)
    assert adjustment["quantity"] == Decimal("13.593") and adjustment["amount"] == Decimal("2.72")
    assert "fin-bob" in adjustment["description"] and "paper.csv" in adjustment["description"]
    assert _billed_kwh(october[0], november[0]) == _meter_rise(october[0], november[0]) == Decimal("2970.000")


def test_an_opening_reading_recorded_after_the_close_bills_the_energy_before_the_first_scrape(
        cm_engine: Engine) -> None:
    """s19: a meter installed 10 Oct, first scraped 20 Oct; its opening counter (0 kWh) recorded after the close."""
    add_endpoint(cm_engine, "n-1", "acme", poll_interval_s=3600)
    source = _source(cm_engine, {"acme": ClientTerms(name="acme", rate_per_kwh=0.2)})
    installed = datetime(2026, 10, 10, tzinfo=BERLIN)
    at = utc(2026, 10, 20)
    while at < utc(2026, 12, 2):
        write(cm_engine, "n-1", at, 2 * (at - installed).total_seconds() / 3600)
        at += timedelta(hours=1)
    now = utc(2026, 12, 5)
    october = close_month(cm_engine, "2026-10", BERLIN, now, source, who="f", max_estimated_share=1)
    assert october[0].total_kwh == Decimal("574.000")
    assert record_opening_reading(cm_engine, "n-1", at=installed, kwh=0.0, who="ops-ann",
                                  recorded_at=now + timedelta(minutes=30))
    later = now + timedelta(hours=1)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    adjustment = _adjustments(november[0]).row(0, named=True)
    assert adjustment["quantity"] == Decimal("484.000") and adjustment["amount"] == Decimal("96.80")
    assert "ops-ann" in adjustment["description"] and "opening" in adjustment["description"]
    rise = Decimal(str(_energy(november[0])["end_counter_kwh"][0])).quantize(Decimal("0.001"))  # from 0 at install
    assert _billed_kwh(october[0], november[0]) == rise


def _site_12h(engine: Engine, clients: dict[str, ClientTerms]) -> LineSource:
    add_endpoint(engine, "a-1", "acme")
    _write_every_12h(engine, lambda at: 100.0 + 4.0 * (at - START).total_seconds() / 3600 / 2)
    return _source(engine, clients)


def _correct_after_close(engine: Engine, delta_kwh: float) -> None:
    record_correction(engine, "a-1", at=utc(2026, 10, 20), delta_kwh=delta_kwh, who="ops", why="missed",
                      recorded_at=NOW + timedelta(hours=1))


def test_a_price_edited_after_the_close_does_not_reprice_the_closed_month(cm_engine: Engine) -> None:
    """s3: October closed at 0.20; the rate becomes 0.25; a 5 kWh correction in October is 5 x 0.20."""
    clients = {"acme": ClientTerms(name="acme", rate_per_kwh=0.2)}
    source = _site_12h(cm_engine, clients)
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="fin", max_estimated_share=1)
    clients["acme"] = ClientTerms(name="acme", rate_per_kwh=0.25)
    _correct_after_close(cm_engine, 5.0)
    later = NOW + timedelta(hours=2)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    assert _adjustments(november[0]).select("endpoint_id", "quantity", "unit_price", "amount").rows() == [
        ("a-1", Decimal("5.000"), Decimal("0.2"), Decimal("1.00"))]


def test_an_assignment_changed_after_the_close_does_not_resplit_the_closed_month(cm_engine: Engine) -> None:
    """s4: a move of a-1 to globex from 15 Oct, back-dated after the close, then a 5 kWh correction."""
    add_endpoint(cm_engine, "g-1", "globex")
    clients = {"acme": ClientTerms(name="acme", rate_per_kwh=0.2), "globex": ClientTerms(name="globex",
                                                                                         rate_per_kwh=0.3)}
    source = _site_12h(cm_engine, clients)
    for step in range(0, 24 * 86, 12):
        with cm_engine.begin() as conn:
            store_batch(conn, [RawReading("g-1", START + timedelta(hours=step), True, raw_kwh=10.0 + 1.0 * step)])
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="fin", max_estimated_share=1)
    with cm_engine.begin() as conn:  # what a sync appends for client_history [{from: 2026-10-15, client: globex}]
        conn.execute(insert(client_assignment).values(endpoint_id="a-1", client="globex",
                                                      valid_from=datetime(2026, 10, 15, tzinfo=BERLIN),
                                                      recorded_at=NOW + timedelta(minutes=30)))
    _correct_after_close(cm_engine, 5.0)
    later = NOW + timedelta(hours=2)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    adjustments = pl.concat([_adjustments(item) for item in november])
    assert adjustments.select("client", "endpoint_id", "quantity", "unit_price", "amount", "adjusts").rows() == [
        ("acme", "a-1", Decimal("5.000"), Decimal("0.2"), Decimal("1.00"), "ST-202610-ACME")]


def test_a_client_history_corrected_after_the_close_moves_no_money_in_the_closed_month(cm_engine: Engine) -> None:
    """c-1 moved to globex on 15 Oct (1 kW before, 3 kW after); after the close the history's date is
    corrected to 15 Nov, as the sync mirrors it. No reading changes: October keeps its clients, and no
    kWh are laid from one client to the other by time (the load is not flat)."""
    add_endpoint(cm_engine, "c-1", "acme")
    moved = datetime(2026, 10, 15, tzinfo=BERLIN)
    with cm_engine.begin() as conn:
        conn.execute(insert(client_assignment).values(endpoint_id="c-1", client="globex", valid_from=moved,
                                                      recorded_at=utc(2026, 10, 16)))
    counter, at = 100.0, START
    while at <= utc(2026, 12, 3):
        write(cm_engine, "c-1", at, round(counter, 3))
        at += timedelta(hours=1)
        counter += 1.0 if at <= moved else 3.0
    clients = {"acme": ClientTerms(name="acme", rate_per_kwh=0.2), "globex": ClientTerms(name="globex",
                                                                                         rate_per_kwh=0.3)}
    source = _source(cm_engine, clients)
    october = close_month(cm_engine, "2026-10", BERLIN, utc(2026, 11, 2, 8), source, who="fin",
                          max_estimated_share=1)
    assert sorted(item.client for item in october) == ["acme", "globex"]
    with cm_engine.begin() as conn:  # the corrected date, as the sync now writes it
        conn.execute(delete(client_assignment).where(client_assignment.c.valid_from == moved))
        conn.execute(insert(client_assignment).values(endpoint_id="c-1", client="globex",
                                                      valid_from=datetime(2026, 11, 15, tzinfo=BERLIN),
                                                      recorded_at=utc(2026, 11, 20)))
    later = utc(2026, 12, 2, 9)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    assert [(item.client, _adjustments(item).height) for item in november] == [("acme", 0), ("globex", 0)]


def test_overage_above_the_commitment_is_adjusted_at_its_frozen_price(cm_engine: Engine) -> None:
    """s10: 2 kW committed, 0.50 per kWh above; October closed at exactly 2 kW; +100 kWh corrected after."""
    clients = {"acme": ClientTerms.model_validate({"name": "acme", "rate_per_kwh": 0.2, "tariffs": [
        {"valid_from": "2026-01-01", "rate_per_kwh": 0.2, "committed_kw": 2.0, "overage_per_kwh": 0.5}]})}
    source = _site_12h(cm_engine, clients)
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="f", max_estimated_share=1)
    assert october[0].lines.filter(pl.col("term") == "overage_kwh")["quantity"].to_list() == [Decimal("0.000")]
    _correct_after_close(cm_engine, 100.0)
    later = NOW + timedelta(hours=2)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    adjustments = _adjustments(november[0]).select("endpoint_id", "quantity", "unit", "unit_price", "amount")
    assert sorted(adjustments.rows()) == [("", Decimal("100.000"), "kWh", Decimal("0.5"), Decimal("50.00")),
                                          ("a-1", Decimal("100.000"), "kWh", Decimal("0.2"), Decimal("20.00"))]
    assert "above the commitment" in _adjustments(november[0]).filter(pl.col("endpoint_id") == "")["description"][0]
    close_month(cm_engine, "2026-11", BERLIN, later, source, who="f", max_estimated_share=1)
    _, december = served_statements(cm_engine, "2026-12", BERLIN, later, source)
    assert _adjustments(december[0]).is_empty()  # both adjusted once


def test_an_adjustment_is_rounded_to_the_currency_minor_unit(cm_engine: Engine) -> None:
    """s9: a JPY client: 5.123 kWh x 31.37 JPY is 161 yen, not 160.71."""
    tokyo = ZoneInfo("Asia/Tokyo")
    add_endpoint(cm_engine, "a-1", "acme")
    source = _source(cm_engine, {"acme": ClientTerms(name="acme", rate_per_kwh=31.37, currency="JPY")}, tokyo)
    _write_every_12h(cm_engine, lambda at: 100.0 + 2.123 * (at - START).total_seconds() / 3600)
    close_month(cm_engine, "2026-10", tokyo, NOW, source, who="f", max_estimated_share=1)
    _correct_after_close(cm_engine, 5.123)
    _, november = served_statements(cm_engine, "2026-11", tokyo, NOW + timedelta(hours=2), source)
    assert _adjustments(november[0]).select("quantity", "currency", "amount").rows() == [
        (Decimal("5.123"), "JPY", Decimal("161.00"))]


def test_readings_pruned_after_archiving_are_not_credited(cm_engine: Engine) -> None:
    """A closed month whose readings were removed from the database (archive pruning) recomputes to nothing:
    that is no change of energy, so no adjustment credits the month back."""
    clients = {"acme": ClientTerms(name="acme", rate_per_kwh=0.2)}
    source = _site_12h(cm_engine, clients)
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="fin", max_estimated_share=1)
    with cm_engine.begin() as conn:  # what prune_month does for September and October
        conn.execute(delete(reading).where(reading.c.read_at < utc(2026, 10, 31, 23)))
    later = NOW + timedelta(hours=2)
    _check_frozen(cm_engine, source, october, later)
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    assert _adjustments(november[0]).is_empty()


def test_peak_demand_above_the_commitment_is_adjusted_at_its_frozen_price(cm_engine: Engine) -> None:
    """A 2 kW commitment with 10.00 per kW of peak above it; a late reading after the close reveals a burst
    on 31 October: the peak line moves by the recomputed difference, at the frozen price, once."""
    clients = {"acme": ClientTerms.model_validate({"name": "acme", "rate_per_kwh": 0.2, "tariffs": [
        {"valid_from": "2026-01-01", "rate_per_kwh": 0.2, "committed_kw": 2.0, "overage_per_peak_kw": 10.0}]})}
    add_endpoint(cm_engine, "a-1", "acme")
    source = _source(cm_engine, clients)
    _write_every_12h(cm_engine, _bursty, gap=True)
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, source, who="f", max_estimated_share=1,
                          confirm_estimates=True)
    frozen_peak = october[0].lines.filter(pl.col("term") == "overage_peak_kw").row(0, named=True)
    late = utc(2026, 10, 31, 22, 30)
    write(cm_engine, "a-1", late, _bursty(late))
    later = NOW + timedelta(hours=1)
    recomputed = statement_lines(cm_engine, "2026-10", BERLIN, later, clients=clients)
    peak_now = recomputed.filter(pl.col("term") == "overage_peak_kw")["quantity"][0]
    assert peak_now != frozen_peak["quantity"]
    _, november = served_statements(cm_engine, "2026-11", BERLIN, later, source)
    line = _adjustments(november[0]).filter(pl.col("unit") == "kW").row(0, named=True)
    assert line["quantity"] == peak_now - frozen_peak["quantity"] and line["endpoint_id"] == ""
    assert line["unit_price"] == frozen_peak["unit_price"] == Decimal("10")
    assert line["amount"] == (line["quantity"] * Decimal(10)).quantize(Decimal("0.01"))
    close_month(cm_engine, "2026-11", BERLIN, later, source, who="f", max_estimated_share=1, confirm_estimates=True)
    _, december = served_statements(cm_engine, "2026-12", BERLIN, later, source)
    assert _adjustments(december[0]).filter(pl.col("unit") == "kW").is_empty()


def test_a_commitment_edited_after_the_close_does_not_reprice_the_closed_months_peak(cm_engine: Engine) -> None:
    """No reading changes; only the commitment in the YAML moves from 2 to 3 kW: October's peak charge stays."""
    def terms(committed_kw: float) -> dict[str, ClientTerms]:
        return {"acme": ClientTerms.model_validate({"name": "acme", "rate_per_kwh": 0.2, "tariffs": [
            {"valid_from": "2026-01-01", "rate_per_kwh": 0.2, "committed_kw": committed_kw,
             "overage_per_peak_kw": 10.0}]})}

    add_endpoint(cm_engine, "a-1", "acme")
    _write_every_12h(cm_engine, _bursty)
    october = close_month(cm_engine, "2026-10", BERLIN, NOW, _source(cm_engine, terms(2.0)), who="f",
                          max_estimated_share=1, confirm_estimates=True)
    assert october[0].lines.filter(pl.col("term") == "overage_peak_kw")["quantity"][0] > 0
    _, november = served_statements(cm_engine, "2026-11", BERLIN, NOW + timedelta(hours=1),
                                    _source(cm_engine, terms(3.0)))
    assert _adjustments(november[0]).is_empty()
