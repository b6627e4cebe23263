"""The one place billing tables become CSV or XLSX bytes, so the app's downloads equal the CLI's files.

Times are written in the billing time zone as ISO 8601 with their offset; numbers keep full
precision in CSV (already rounded by billing) and are real numbers in XLSX. The XLSX writer
pins the workbook's timestamps so the same table gives the same bytes.
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


def to_xlsx(table: pl.DataFrame, tz: ZoneInfo, sheet: str = "billing") -> bytes:
    """An Excel workbook with one sheet, header in bold, numbers as numbers."""
    from openpyxl.styles import Font

    frame = for_export(table, tz)
    book = Workbook()
    work = book.active
    assert work is not None
    work.title = sheet[:31]
    work.append(frame.columns)
    for cell in work[1]:
        cell.font = Font(bold=True)
    for row in frame.iter_rows():
        work.append(list(row))
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
