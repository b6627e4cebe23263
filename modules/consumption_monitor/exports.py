"""The one place billing tables become CSV or XLSX bytes, so the app's downloads equal the CLI's files.

CSV times are ISO 8601 in the billing time zone with their offset; numbers keep full precision
(already rounded by billing). XLSX cells are real dates (site wall-clock time) and numbers with
their unit or currency in the number format, with a totals row. The XLSX writer pins the
workbook's timestamps so the same table gives the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from openpyxl import Workbook

FIXED_XLSX_TIME = datetime(2000, 1, 1)
FIXED_STAMP = FIXED_XLSX_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def for_export(table: pl.DataFrame, tz: ZoneInfo) -> pl.DataFrame:
    """Datetimes as local ISO text, so CSV and XLSX (and a person) read the same wall-clock times."""
    return table.with_columns(
        pl.col(name).dt.convert_time_zone(str(tz)).dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias(name)
        for name, dtype in table.schema.items()
        if isinstance(dtype, pl.Datetime)
    )


def to_csv(table: pl.DataFrame, tz: ZoneInfo) -> bytes:
    """UTF-8 CSV with a header row."""
    return for_export(table, tz).write_csv().encode("utf-8")


def _number_format(name: str, currency: str | None) -> str | None:
    """The Excel format a billing column gets, from its name (units and currency in the format)."""
    if "share" in name:
        return "0.0%"
    if name in ("amount", "total_amount"):
        return f'#,##0.00 "{currency}"' if currency else "#,##0.00"
    if name in ("rate", "unit_price"):
        return f'0.000000 "{currency}/kWh"' if currency and name == "rate" else "0.000000"
    if "kwh" in name or name in ("change", "kwh"):
        return '#,##0.000 "kWh"'
    if name == "quantity":
        return "#,##0.000"
    if "hours" in name:
        return '#,##0.0 "h"'
    return None


def to_xlsx(table: pl.DataFrame, tz: ZoneInfo, sheet: str = "billing") -> bytes:
    """An Excel sheet finance can use: real dates (site time), numbers with units and currency in their
    formats, bold frozen header, filters, column widths and a totals row for kWh and amounts."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    frame = table.with_columns(
        pl.col(name).dt.convert_time_zone(str(tz)).dt.replace_time_zone(None)
        for name, dtype in table.schema.items() if isinstance(dtype, pl.Datetime))
    currencies = sorted({c for c in frame["currency"].to_list() if c}) if "currency" in frame.columns else []
    currency = currencies[0] if len(currencies) == 1 else None
    book = Workbook()
    work = book.active
    assert work is not None
    work.title = sheet[:31]
    work.append(frame.columns)
    for cell in work[1]:
        cell.font = Font(bold=True)
    formats = {index: _number_format(name, currency) for index, name in enumerate(frame.columns, start=1)}
    for index, (name, dtype) in enumerate(frame.schema.items(), start=1):
        if isinstance(dtype, pl.Datetime):
            formats[index] = "yyyy-mm-dd hh:mm"
        elif not dtype.is_numeric():
            formats[index] = None
        width = max([len(name), *(len(str(v)) for v in frame[name].head(200).to_list() if v is not None)])
        work.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 9), 60)
    for row_number, row in enumerate(frame.iter_rows(), start=2):
        for index, value in enumerate(row, start=1):
            cell = work.cell(row=row_number, column=index, value=value)
            if formats[index] and value is not None:
                cell.number_format = formats[index]
    work.freeze_panes = "A2"
    work.auto_filter.ref = f"A1:{get_column_letter(max(frame.width, 1))}{frame.height + 1}"
    totals = frame.height + 2
    work.cell(row=totals, column=1, value="Total").font = Font(bold=True)
    for index, name in enumerate(frame.columns, start=1):
        summable = name in ("kwh", "amount", "quantity", "total_kwh", "total_amount", "estimated_kwh")
        if summable and frame.schema[name].is_numeric() and (name != "amount" or len(currencies) <= 1):
            cell = work.cell(row=totals, column=index, value=frame[name].drop_nulls().sum())
            cell.number_format = formats[index] or "General"
            cell.font = Font(bold=True)
    book.properties.created = FIXED_XLSX_TIME
    book.properties.modified = FIXED_XLSX_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    return pinned_zip(buffer.getvalue())


def pinned_zip(data: bytes) -> bytes:
    """The same archive with every entry dated 1980-01-01, so equal tables give equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            pinned = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            pinned.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with the time of saving
                content = STAMP.sub(lambda match: match.group(1) + FIXED_STAMP + match.group(2), content)
            target.writestr(pinned, content)
    return target_buffer.getvalue()


def to_text(table: pl.DataFrame, tz: ZoneInfo) -> str:
    """A plain-text table for the terminal."""
    frame = for_export(table, tz)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, fmt_str_lengths=40,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        return str(frame)


def statement_totals(statements: list[Any]) -> pl.DataFrame:
    """One row per statement (``statements.Statement``): the by-client view of a closed month."""
    return pl.DataFrame(
        [{"statement": s.number, "client": s.client, "client_name": s.client_name, "version": s.version,
          "period_start": s.period_start, "period_end": s.period_end, "kwh": s.total_kwh, "amount": s.total_amount,
          "currency": s.currency, "estimated_share": s.estimated_share, "lines": s.lines.height, "digest": s.digest,
          "closed_at": s.closed_at, "closed_by": s.closed_by} for s in statements],
        schema={"statement": pl.String, "client": pl.String, "client_name": pl.String, "version": pl.Int64,
                "period_start": pl.Datetime("us", "UTC"), "period_end": pl.Datetime("us", "UTC"),
                "kwh": pl.Decimal(38, 3), "amount": pl.Decimal(38, 2), "currency": pl.String,
                "estimated_share": pl.Float64, "lines": pl.Int64, "digest": pl.String,
                "closed_at": pl.Datetime("us", "UTC"), "closed_by": pl.String},
    )
