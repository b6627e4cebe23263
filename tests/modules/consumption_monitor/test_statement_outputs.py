"""Statement outputs read back: PDF text (pypdf), XLSX formats and totals (openpyxl), the Xero CSV, the
dispute pack, all from one set of statements; the same statements give the same bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from nxforge_modules.consumption_monitor.accounting import XERO_COLUMNS, AccountingCodes, accounting_csv
from nxforge_modules.consumption_monitor.dispute import dispute_pack
from nxforge_modules.consumption_monitor.line_contract import normalized
from nxforge_modules.consumption_monitor.periods import month_period
from nxforge_modules.consumption_monitor.statement_pdf import statements_pdf
from nxforge_modules.consumption_monitor.statement_xlsx import statements_xlsx
from nxforge_modules.consumption_monitor.statements import Statement, draft_statements
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine

from tests.modules.consumption_monitor.conftest import add_endpoint, utc, write

BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2026, 12, 2, 9, tzinfo=UTC)
PERIOD = month_period("2026-10", BERLIN, AT)


def line(client: str, endpoint_id: str, term: str, quantity: str, price: str, amount: str, **extra: object) -> dict:  # type: ignore[type-arg]
    base = {
        "client": client, "client_name": client.title() + " GmbH", "endpoint_id": endpoint_id, "term": term,
        "description": f"{term} October", "period_start": PERIOD.start, "period_end": PERIOD.end,
        "quantity": Decimal(quantity), "unit": "kWh", "unit_price": Decimal(price), "currency": "EUR",
        "amount": Decimal(amount), "overhead_factor": Decimal("1.5"), "status": "ok",
    }  # fmt: skip
    if term == "energy":
        base.update(start_counter_kwh=1000.0, end_counter_kwh=1000.0 + float(quantity), start_method="interpolated",
                    end_method="held", covered_hours=700.0, period_hours=745.0, estimated_kwh=12.5,
                    estimated_share=0.0125, resets=1, failed_reads=2)
    base.update(extra)
    return base


def statements() -> list[Statement]:
    rows = [
        line("acme", "rack-1", "energy", "1000.000", "0.200000", "300.00"),
        line("acme", "rack-2", "energy", "333.333", "0.213457", "106.73"),  # 333.333 x 1.5 x 0.213457
        line("acme", "", "fixed_fee", "2.000", "50.000000", "100.00", unit="month", overhead_factor=None),
        line("acme", "rack-1", "adjustment", "40.000", "0.200000", "12.00", adjusts="ST-202609-ACME",
             description="Adjustment to 2026-09 (ST-202609-ACME): +40.000 kWh after correction by ops-ann"),
        line("globex", "g-1", "tou:night", "200.000", "0.100000", "30.00"),
        line("globex", "g-2", "energy", "100.000", "0.200000", "24.69", overhead_factor=Decimal("1.234560")),
    ]  # g-2: 100 x 0.2 x 1.23456 = 24.6912: the factor printed to 6 decimals, so the line's arithmetic checks
    return draft_statements(normalized(pl.DataFrame(rows)), PERIOD, BERLIN, 1)


def test_pdf_states_lines_boundaries_totals_and_digest() -> None:
    items = statements()
    data = statements_pdf(items, site_name="Frankfurt DC1", tz=BERLIN)
    assert data == statements_pdf(items, site_name="Frankfurt DC1", tz=BERLIN)
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    acme = items[0]
    for expected in ("Frankfurt DC1", "Energy statement ST-202610-ACME", "DRAFT", "Acme GmbH (acme)",
                     "2026-10-01 00:00 to 2026-11-01 00:00 (Europe/Berlin)", "rack-2", "333.333", "0.213457",
                     "106.73", "Fixed fee", "Boundary readings", "interpolated", "held", "700.0 / 745.0",
                     "Adjustments to closed months", "ST-202609-ACME", "ops-ann", "1,333.333 kWh",
                     f"{acme.total_amount:,.2f} EUR", acme.digest[:40], "ST-202610-GLOBEX", "Time of use: night",
                     "1.234560"):
        assert expected in text.replace("\n", " ") or expected in text, expected
    assert acme.total_amount == Decimal("518.73")  # the sum of its lines: 300 + 106.73 + 100 + 12


def test_xlsx_has_real_numbers_formats_dates_and_totals() -> None:
    items = statements()
    data = statements_xlsx(items, BERLIN)
    assert data == statements_xlsx(items, BERLIN)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "acme", "globex"]
    summary = book["Summary"]
    assert summary.freeze_panes == "A2" and summary.auto_filter.ref == "A1:O3"
    assert summary["A2"].value == "ST-202610-ACME" and summary["I2"].value == 518.73
    assert summary["I2"].number_format == '#,##0.00 "EUR"' and summary["H2"].number_format == '#,##0.000 "kWh"'
    assert summary["F2"].value == datetime(2026, 10, 1) and summary["F2"].number_format == "yyyy-mm-dd hh:mm"
    assert summary["A4"].value == "Total" and summary["I4"].value == 573.42 and summary["H4"].value == 1633.333
    acme = book["acme"]
    header = [cell.value for cell in acme[1]]
    assert header[:9] == ["Endpoint", "Term", "Description", "From (site time)", "To (site time)", "Quantity",
                          "Unit price", "Overhead factor", "Amount"]
    assert acme.freeze_panes == "A2" and acme.auto_filter.ref == "A1:U5"
    assert acme["F2"].value == 1000 and acme["F2"].number_format == '#,##0.000 "kWh"'
    assert acme["G2"].number_format == '#,##0.000000 "EUR/kWh"' and acme["I2"].number_format == '#,##0.00 "EUR"'
    assert acme["F4"].number_format == '#,##0.000 "month"'
    assert acme["D2"].value == datetime(2026, 10, 1) and acme["Q2"].number_format == "0.0%"
    amounts = [acme.cell(row=r, column=9).value for r in range(2, 6)]
    assert acme["A6"].value == "Total" and acme["I6"].value == 518.73 == pytest.approx(sum(amounts))
    assert acme.column_dimensions["C"].width == 48
    factor = next(row[7] for row in book["globex"].iter_rows(min_row=2) if row[0].value == "g-2")
    assert factor.value == pytest.approx(1.23456) and factor.number_format == "0.000000"


def test_accounting_csv_is_xero_layout_and_adds_up_to_each_statement() -> None:
    items = statements()
    codes = AccountingCodes(account_code="4000", tax_type="OUTPUT2", payment_days=30)
    rows = list(csv.reader(io.StringIO(accounting_csv(items, codes, AT, BERLIN).decode())))
    assert rows[0] == XERO_COLUMNS
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert {row["AccountCode"] for row in body} == {"4000"} and {row["TaxType"] for row in body} == {"OUTPUT2"}
    first = body[0]
    assert (first["ContactName"], first["InvoiceNumber"], first["InvoiceDate"], first["DueDate"]) == (
        "Acme GmbH", "ST-202610-ACME", "2026-12-02", "2027-01-01")
    assert (first["Quantity"], first["UnitAmount"]) == ("1000.000", "0.3")
    rack2 = body[1]  # a unit amount of 0.3201855 has more decimals than Xero keeps: one line of the amount
    assert (rack2["Quantity"], rack2["UnitAmount"]) == ("1", "106.73") and "333.333 kWh at 0.213457" in rack2[
        "Description"]
    for item in items:
        total = sum(Decimal(r["Quantity"]) * Decimal(r["UnitAmount"]) for r in body
                    if r["InvoiceNumber"] == item.number)
        assert total.quantize(Decimal("0.01")) == item.total_amount


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dispute_pack_holds_the_statement_readings_events_and_the_arithmetic(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "rack-1")
    for day in (28, 30):
        write(cm_engine, "rack-1", utc(2026, 9, day), 900.0 + day)
    write(cm_engine, "rack-1", utc(2026, 10, 15), 1500.0)
    write(cm_engine, "rack-1", utc(2026, 10, 16), None)
    write(cm_engine, "rack-1", utc(2026, 12, 20), 3000.0)  # far after the period: left out
    acme = statements()[0]
    data = dispute_pack(cm_engine, acme, site_name="DC1", tz=BERLIN)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(name.split("/", 1)[1] for name in archive.namelist())
    assert names == ["README.txt", "boundaries.csv", "lines.canonical.txt", "lines.csv", "meter-events.csv",
                     "readings.csv", "statement.json", "statement.pdf", "statement.xlsx"]
    read = lambda name: archive.read(f"{acme.number}/{name}").decode()  # noqa: E731
    assert hashlib.sha256(read("lines.canonical.txt").encode()).hexdigest() == acme.digest
    readings = list(csv.DictReader(io.StringIO(read("readings.csv"))))
    assert [r["read_at"][:10] for r in readings] == ["2026-09-30", "2026-10-15", "2026-10-16"]
    assert readings[2]["success"] in ("False", "0") and readings[2]["error_class"] == "unreachable"
    boundaries = list(csv.DictReader(io.StringIO(read("boundaries.csv"))))
    assert boundaries[0]["arithmetic"].startswith("2000.000 - 1000.000 = 1000.000 kWh")
    assert "1000.000 x 1.500000 x 0.200000 = 300.00 EUR" in boundaries[0]["arithmetic"]
