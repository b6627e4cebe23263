"""The dispute pack: everything a client (or an auditor) needs to check one statement, in one ZIP.

It holds the statement (PDF, XLSX, lines as CSV and as the canonical text its SHA-256 digest
is taken over, so ``sha256sum`` verifies it), every reading of the client's endpoints in and
around the period (failures too, imported ones marked), the swaps and corrections recorded for
them, and the boundary arithmetic of each energy line.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine, select

from .line_contract import canonical_text, is_energy
from .statement_pdf import statements_pdf
from .statement_xlsx import statements_xlsx
from .statements import Statement, lines_of
from .tables import meter_event, reading

AROUND = timedelta(days=2)
READING_COLUMNS = ["endpoint_id", "read_at", "success", "raw_kwh", "corrected_kwh", "offset_kwh", "event",
                   "estimated_kwh", "power_w", "error_class", "error_message", "engine"]  # fmt: skip
EVENT_COLUMNS = ["endpoint_id", "at", "kind", "old_final_kwh", "new_initial_kwh", "delta_kwh", "who", "why",
                 "recorded_at"]  # fmt: skip
README = """Dispute pack for statement {number} ({client_name}, {month}, version {version})

statement.pdf / statement.xlsx  the statement as sent
lines.csv                       its lines, every figure as stored
lines.canonical.txt             the text the digest is taken over: sha256sum gives {digest}
boundaries.csv                  per energy line: counter at each end, how it was obtained, the arithmetic
readings.csv                    every reading of the endpoints from {first} to {last} (site time {tz}),
                                failed reads too; engine "import" marks readings imported from a file
meter-events.csv                meter swaps and corrections recorded for these endpoints
"""


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _local(value: Any, tz: ZoneInfo) -> Any:
    return value.astimezone(tz).isoformat() if isinstance(value, datetime) else value


def _boundaries(item: Statement, tz: ZoneInfo) -> bytes:
    rows = []
    for line in item.lines.filter(is_energy(pl.col("term"))).iter_rows(named=True):
        start, end = line["start_counter_kwh"], line["end_counter_kwh"]
        arithmetic = ""
        if start is not None and end is not None and line["quantity"] is not None:
            arithmetic = (f"{end:.3f} - {start:.3f} = {end - start:.3f} kWh (billed {line['quantity']} for this term)"
                          + (f"; {line['quantity']} x {line['overhead_factor']} x {line['unit_price']} = "
                             f"{line['amount']} {line['currency']}" if line["amount"] is not None else ""))
        rows.append([line["endpoint_id"], line["term"], _local(line["period_start"], tz),
                     _local(line["period_end"], tz), start, line["start_method"], end, line["end_method"],
                     line["covered_hours"], line["period_hours"], line["estimated_kwh"], line["estimated_share"],
                     line["resets"], line["failed_reads"], line["status"], arithmetic])
    return _csv(["endpoint_id", "term", "from", "to", "start_counter_kwh", "start_method", "end_counter_kwh",
                 "end_method", "covered_hours", "period_hours", "estimated_kwh", "estimated_share", "resets",
                 "failed_reads", "status", "arithmetic"], rows)


def _records(engine: Engine, endpoint_ids: list[str], first: datetime, last: datetime, tz: ZoneInfo
             ) -> tuple[bytes, bytes]:
    with engine.connect() as conn:
        readings = conn.execute(
            select(*(reading.c[name] for name in READING_COLUMNS))
            .where(reading.c.endpoint_id.in_(endpoint_ids), reading.c.read_at >= first, reading.c.read_at < last)
            .order_by(reading.c.endpoint_id, reading.c.read_at)).fetchall()
        events = conn.execute(
            select(*(meter_event.c[name] for name in EVENT_COLUMNS))
            .where(meter_event.c.endpoint_id.in_(endpoint_ids), meter_event.c.at < last)
            .order_by(meter_event.c.endpoint_id, meter_event.c.at, meter_event.c.id)).fetchall()
    return (_csv(READING_COLUMNS, [[_local(value, tz) for value in row] for row in readings]),
            _csv(EVENT_COLUMNS, [[_local(value, tz) for value in row] for row in events]))


def dispute_pack(engine: Engine, item: Statement, *, site_name: str, tz: ZoneInfo) -> bytes:
    """The ZIP for one statement; entries dated at the close (or 1980 for a draft) so it is reproducible."""
    endpoint_ids = sorted({e for e in item.lines["endpoint_id"].to_list() if e})
    first, last = item.period_start - AROUND, item.period_end + AROUND
    readings_csv, events_csv = _records(engine, endpoint_ids, first, last, tz)
    lines_frame = lines_of([item]).with_columns(
        pl.col(name).dt.convert_time_zone(str(tz)).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        for name in ("period_start", "period_end"))
    stamp = item.closed_at.astimezone(tz) if item.closed_at else datetime(1980, 1, 1)
    entries = {
        "README.txt": README.format(number=item.number, client_name=item.client_name, month=item.month,
                                    version=item.version, digest=item.digest, tz=tz, first=_local(first, tz),
                                    last=_local(last, tz)).encode("utf-8"),
        "statement.json": json.dumps({
            "number": item.number, "month": item.month, "version": item.version, "client": item.client,
            "client_name": item.client_name, "currency": item.currency, "total_amount": str(item.total_amount),
            "total_kwh": str(item.total_kwh), "estimated_share": item.estimated_share, "digest": item.digest,
            "closed_at": _local(item.closed_at, tz), "closed_by": item.closed_by, "draft": item.draft,
        }, indent=2).encode("utf-8"),
        "statement.pdf": statements_pdf([item], site_name=site_name, tz=tz),
        "statement.xlsx": statements_xlsx([item], tz),
        "lines.csv": lines_frame.write_csv().encode("utf-8"),
        "lines.canonical.txt": canonical_text(item.lines).encode("utf-8"),
        "boundaries.csv": _boundaries(item, tz),
        "readings.csv": readings_csv,
        "meter-events.csv": events_csv,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(f"{item.number}/{name}", date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
