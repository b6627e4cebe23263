"""``nxforge readings import FILE``: readings kept in a spreadsheet (or read by hand) into the database.

Every row is checked before anything is stored (endpoint known, time with its UTC offset, kWh a
number of at least 0); a bad row names its row and column, and nothing is stored unless the
caller skips bad rows. Readings go through the module's write path (``store_batch``), so the
counter correction applies as it does to collected ones; their ``engine`` is ``import``, and their
key (endpoint and instant) makes importing the same file twice store it once.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from nxforge.sdk import NxForgeError

from .readings import RawReading
from .store import store_batch
from .tables import endpoint, meter_event

log = logging.getLogger(__name__)

IMPORT_ENGINE = "import"
COLUMNS = {  # the column -> the header names accepted for it
    "endpoint": ("endpoint", "endpoint_id", "endpoint id"),
    "time": ("time", "read_at", "timestamp", "datetime"),
    "kwh": ("kwh", "raw_kwh", "total_kwh", "energy_kwh"),
}
TIME_HINT = "write the time with its offset, e.g. 2026-03-01T00:00:00+01:00 (or Z for UTC)"


@dataclass(frozen=True)
class RowProblem:
    """One bad cell: the row as a spreadsheet numbers it (header = 1), the column, what is wrong."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


class ImportRejected(NxForgeError):
    """The file has bad rows and nothing was stored."""

    def __init__(self, problems: list[RowProblem], hint: str = "fix these rows, or pass --skip-bad") -> None:
        shown = "\n".join(str(problem) for problem in problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} bad row(s), nothing stored:\n{shown}{more}", hint)
        self.problems = problems


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    stored: int = 0
    already: int = 0
    skipped: list[RowProblem] = field(default_factory=list)


def _header_map(header: list[Any]) -> dict[str, int]:
    names = [str(cell or "").strip().lower() for cell in header]
    found: dict[str, int] = {}
    for column, accepted in COLUMNS.items():
        for index, name in enumerate(names):
            if name in accepted:
                found[column] = index
                break
        else:
            raise ImportRejected([RowProblem(1, column, f"no {column!r} column (header: {', '.join(names)})")],
                                 f"name the columns {', '.join(COLUMNS)}")
    return found


def read_table(path: Path) -> list[list[Any]]:
    """The rows of a CSV or XLSX file (first sheet), header first."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        book.close()
        return rows
    text = path.read_text(encoding="utf-8-sig")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("empty")
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO 8601 time; {TIME_HINT}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!s} has no UTC offset; {TIME_HINT}")
    return parsed.astimezone(UTC)


def _kwh(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("empty")
        try:
            number = float(text)
        except ValueError:
            hint = " (use a point for decimals, no thousands separator)" if "," in text else ""
            raise ValueError(f"{text!r} is not a number{hint}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{number} kWh: a meter counter is a finite number of at least 0")
    return number


def validate(rows: list[list[Any]], known: set[str], now: datetime) -> tuple[list[tuple[int, RawReading]],
                                                                           list[RowProblem]]:
    """Readings from the rows (with their row numbers) and the problems found; nothing is stored here."""
    if not rows:
        return [], [RowProblem(1, "endpoint", "the file is empty")]
    columns = _header_map(rows[0])
    readings: list[tuple[int, RawReading]] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, datetime], tuple[int, float]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(cell or "").strip() for cell in row):
            continue
        cells = {name: row[index] if index < len(row) else None for name, index in columns.items()}
        before = len(problems)
        endpoint_id = str(cells["endpoint"] or "").strip()
        if not endpoint_id:
            problems.append(RowProblem(number, "endpoint", "empty"))
        elif endpoint_id not in known:
            problems.append(RowProblem(number, "endpoint", f"no endpoint {endpoint_id!r} (sync the YAML first: "
                                                           "nxforge endpoints --sync)"))
        try:
            read_at = _time(cells["time"])
            if read_at > now:
                problems.append(RowProblem(number, "time", f"{read_at.isoformat()} is in the future"))
        except ValueError as exc:
            problems.append(RowProblem(number, "time", str(exc)))
        try:
            kwh = _kwh(cells["kwh"])
        except ValueError as exc:
            problems.append(RowProblem(number, "kwh", str(exc)))
        if len(problems) > before:
            continue
        earlier = seen.get((endpoint_id, read_at))
        if earlier is not None:
            if earlier[1] != kwh:
                problems.append(RowProblem(number, "kwh", f"row {earlier[0]} has the same endpoint and time with "
                                                          f"{earlier[1]} kWh"))
            continue
        seen[(endpoint_id, read_at)] = (number, kwh)
        readings.append((number, RawReading(endpoint_id, read_at, True, raw_kwh=kwh, engine=IMPORT_ENGINE)))
    return readings, problems


def _rounds(readings: list[RawReading]) -> list[list[RawReading]]:
    """Batches holding each endpoint at most once, oldest first (``store_batch``'s fast path)."""
    per_endpoint: dict[str, list[RawReading]] = defaultdict(list)
    for raw in sorted(readings, key=lambda r: (r.read_at, r.endpoint_id)):
        per_endpoint[raw.endpoint_id].append(raw)
    depth = max((len(items) for items in per_endpoint.values()), default=0)
    return [[items[i] for items in per_endpoint.values() if i < len(items)] for i in range(depth)]


def import_readings(engine: Engine, path: Path, *, now: datetime, skip_bad: bool = False,
                    who: str = "import") -> ImportReport:
    """Validate every row, then store all readings in one transaction (or none).

    Each endpoint that received readings also gets an ``import`` meter event (no energy of its own)
    saying who imported how many from which file: a month closed before the import then gets its
    change as an adjustment line on the next open statement, like a correction recorded after a close.
    """
    rows = read_table(path)
    with engine.connect() as conn:
        known = set(conn.execute(select(endpoint.c.id)).scalars())
    readings, problems = validate(rows, known, now)
    if problems and not skip_bad:
        raise ImportRejected(problems)
    report = ImportReport(rows=len(readings) + len(problems), skipped=problems)
    stored: dict[str, list[datetime]] = defaultdict(list)
    with engine.begin() as conn:
        for batch in _rounds([raw for _, raw in readings]):
            for raw, outcome in zip(batch, store_batch(conn, batch), strict=True):
                if outcome.inserted:
                    report.stored += 1
                    stored[raw.endpoint_id].append(raw.read_at)
                else:
                    report.already += 1
        for endpoint_id, times in sorted(stored.items()):
            conn.execute(insert(meter_event).values(
                endpoint_id=endpoint_id, at=min(times), kind="import", delta_kwh=0.0, who=who,
                why=f"{len(times)} reading(s) imported from {path.name}", recorded_at=now))
    log.info("imported %s: %d stored, %d already there, %d bad row(s) skipped", path.name, report.stored,
             report.already, len(problems))
    return report
