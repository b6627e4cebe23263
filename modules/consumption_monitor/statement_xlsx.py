"""Finance-grade statement workbooks: a summary sheet and a sheet per client, from the statements.

Numbers stay numbers with their unit or currency in the number format, times are real Excel
dates in site time, every sheet has a frozen header, a filter, sized columns and a totals row
(the statement's own totals, which are the sums of its lines). The bytes are pinned
(``exports.pinned_zip``) so one statement always gives one file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .exports import FIXED_XLSX_TIME, pinned_zip
from .statement_pdf import term_label
from .statements import Statement

DATE_FORMAT = "yyyy-mm-dd hh:mm"
HEADER_FILL = PatternFill("solid", fgColor="E6E9F0")
BAD_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")

Format = Callable[[dict[str, Any]], str | None]


def _kwh(places: int) -> str:
    return f'#,##0.{"0" * places} "kWh"'


def _money(currency: str) -> str:
    return f'#,##0.00 "{currency}"'


# (header, width, value from a line, number format from the line)
LINE_COLUMNS: list[tuple[str, int, Callable[[dict[str, Any], ZoneInfo], Any], Format]] = [
    ("Endpoint", 18, lambda r, tz: r["endpoint_id"] or "", lambda r: None),
    ("Term", 16, lambda r, tz: term_label(r["term"]), lambda r: None),
    ("Description", 48, lambda r, tz: r["description"], lambda r: None),
    ("From (site time)", 17, lambda r, tz: _local(r["period_start"], tz), lambda r: DATE_FORMAT),
    ("To (site time)", 17, lambda r, tz: _local(r["period_end"], tz), lambda r: DATE_FORMAT),
    ("Quantity", 16, lambda r, tz: r["quantity"], lambda r: f'#,##0.000 "{r["unit"]}"'),
    ("Unit price", 18, lambda r, tz: r["unit_price"], lambda r: f'#,##0.000000 "{r["currency"]}/{r["unit"]}"'),
    ("Overhead factor", 10, lambda r, tz: r["overhead_factor"], lambda r: "0.000000"),
    ("Amount", 16, lambda r, tz: r["amount"], lambda r: _money(r["currency"])),
    ("Start counter", 16, lambda r, tz: r["start_counter_kwh"], lambda r: _kwh(3)),
    ("Start obtained by", 14, lambda r, tz: r["start_method"], lambda r: None),
    ("End counter", 16, lambda r, tz: r["end_counter_kwh"], lambda r: _kwh(3)),
    ("End obtained by", 14, lambda r, tz: r["end_method"], lambda r: None),
    ("Covered hours", 10, lambda r, tz: r["covered_hours"], lambda r: '#,##0.0 "h"'),
    ("Period hours", 10, lambda r, tz: r["period_hours"], lambda r: '#,##0.0 "h"'),
    ("Estimated", 14, lambda r, tz: r["estimated_kwh"], lambda r: _kwh(3)),
    ("Estimated share", 10, lambda r, tz: r["estimated_share"], lambda r: "0.0%"),
    ("Resets", 7, lambda r, tz: r["resets"], lambda r: "0"),
    ("Failed reads", 8, lambda r, tz: r["failed_reads"], lambda r: "0"),
    ("Status", 9, lambda r, tz: r["status"], lambda r: None),
    ("Adjusts statement", 20, lambda r, tz: r["adjusts"], lambda r: None),
]
SUMMARY_COLUMNS = ["Statement", "Client", "Client name", "Version", "State", "From (site time)", "To (site time)",
                   "Energy", "Amount", "Currency", "Estimated share", "Lines", "Closed (site time)", "Closed by",
                   "SHA-256"]  # fmt: skip
SUMMARY_WIDTHS = [24, 14, 24, 8, 10, 17, 17, 16, 16, 9, 10, 7, 17, 12, 66]


def _local(when: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Excel has no time zones: the site's wall-clock time, without an offset."""
    return None if when is None else when.astimezone(tz).replace(tzinfo=None)


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet name (31 characters, none of []:*?/\\)."""
    base = BAD_SHEET_CHARACTERS.sub("_", name)[:31] or "client"
    title, counter = base, 2
    while title.lower() in taken:
        suffix = f"~{counter}"
        title, counter = base[: 31 - len(suffix)] + suffix, counter + 1
    taken.add(title.lower())
    return title


def _header(sheet: Worksheet, names: list[str], widths: list[int]) -> None:
    sheet.append(names)
    for index, (cell, width) in enumerate(zip(sheet[1], widths, strict=True), start=1):
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


def _client_sheet(sheet: Worksheet, item: Statement, tz: ZoneInfo) -> None:
    _header(sheet, [name for name, _, _, _ in LINE_COLUMNS], [width for _, width, _, _ in LINE_COLUMNS])
    rows = list(item.lines.iter_rows(named=True))
    for number, row in enumerate(rows, start=2):
        for column, (_, _, value, fmt) in enumerate(LINE_COLUMNS, start=1):
            cell = sheet.cell(row=number, column=column, value=value(row, tz))
            number_format = fmt(row)
            if number_format:
                cell.number_format = number_format
    last = len(rows) + 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(LINE_COLUMNS))}{last}"
    totals = last + 1
    sheet.cell(row=totals, column=1, value="Total").font = Font(bold=True)
    sheet.cell(row=totals, column=3, value=f"{item.number}: energy lines in kWh, amounts in {item.currency}")
    energy = sheet.cell(row=totals, column=6, value=item.total_kwh)
    energy.number_format = _kwh(3)
    amount = sheet.cell(row=totals, column=9, value=item.total_amount)
    amount.number_format = _money(item.currency)
    share = sheet.cell(row=totals, column=17, value=item.estimated_share)
    share.number_format = "0.0%"
    for cell in sheet[totals]:
        cell.font = Font(bold=True)


def _summary(sheet: Worksheet, statements: list[Statement], tz: ZoneInfo) -> None:
    _header(sheet, SUMMARY_COLUMNS, SUMMARY_WIDTHS)
    for item in statements:
        sheet.append([item.number, item.client, item.client_name, item.version, "draft" if item.draft else "closed",
                      _local(item.period_start, tz), _local(item.period_end, tz), item.total_kwh, item.total_amount,
                      item.currency, item.estimated_share, item.lines.height, _local(item.closed_at, tz),
                      item.closed_by, item.digest])
        row = sheet.max_row
        for column, fmt in ((6, DATE_FORMAT), (7, DATE_FORMAT), (8, _kwh(3)), (9, _money(item.currency)),
                            (11, "0.0%"), (13, DATE_FORMAT)):
            sheet.cell(row=row, column=column).number_format = fmt
    last = len(statements) + 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(SUMMARY_COLUMNS))}{last}"
    totals = last + 1
    sheet.cell(row=totals, column=1, value="Total").font = Font(bold=True)
    currencies = sorted({item.currency for item in statements})
    energy = sheet.cell(row=totals, column=8, value=sum((item.total_kwh for item in statements), start=0))
    energy.number_format = _kwh(3)
    if len(currencies) == 1:  # amounts in different currencies do not add up
        amount = sheet.cell(row=totals, column=9, value=sum((item.total_amount for item in statements), start=0))
        amount.number_format = _money(currencies[0])
        sheet.cell(row=totals, column=10, value=currencies[0])
    for cell in sheet[totals]:
        cell.font = Font(bold=True)


def statements_xlsx(statements: list[Statement], tz: ZoneInfo, *, title: str = "Summary") -> bytes:
    """The workbook: ``Summary`` first, then one sheet per client named after it."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    taken = {"summary"}
    summary.title = title[:31]
    _summary(summary, statements, tz)
    for item in statements:
        _client_sheet(book.create_sheet(sheet_title(item.client, taken)), item, tz)
    book.properties.created = FIXED_XLSX_TIME
    book.properties.modified = FIXED_XLSX_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    return pinned_zip(buffer.getvalue())
