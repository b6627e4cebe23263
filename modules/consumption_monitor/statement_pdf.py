"""Statement PDFs (fpdf2): one statement per client, the same figures the screen and files show.

fpdf2 is pure Python (no system libraries) and lays out tables with wrapping cells; the core
Helvetica font keeps files small and fast to make, so text is written in Latin-1 (currency codes,
not symbols). The creation date is the close time (or a fixed date for a draft), so one
statement always renders to the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
from fpdf import FPDF

from .line_contract import is_energy
from .statements import Statement

DRAFT_DATE = datetime(2000, 1, 1, tzinfo=UTC)
TERM_LABELS = {"energy": "Energy", "overage_kwh": "Overage (kWh)", "overage_peak_kw": "Overage (peak kW)",
               "fixed_fee": "Fixed fee", "adjustment": "Adjustment"}


def latin(text: object) -> str:
    """Text the core fonts can draw: dashes and quotes mapped, anything else outside Latin-1 as '?'."""
    value = str(text).replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u2026", "...")
    return value.encode("latin-1", "replace").decode("latin-1")


def term_label(term: str) -> str:
    """``tou:night`` -> ``Time of use: night``; the known terms by their names."""
    return f"Time of use: {term[4:]}" if term.startswith("tou:") else TERM_LABELS.get(term, term)


def number(value: Decimal | float | None, places: int) -> str:
    """Thousands separated, fixed places; empty for a missing value."""
    return "" if value is None else f"{value:,.{places}f}"


def local(when: datetime | None, tz: ZoneInfo) -> str:
    """A UTC instant in site time, to the minute."""
    return "" if when is None else when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


class _StatementPdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(12, 12, 12)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("Helvetica", size=7)
        self.cell(0, 5, latin(f"{self.footer_text} - page {self.page_no()}"), align="C")


def _header(pdf: FPDF, item: Statement, site_name: str, tz: ZoneInfo) -> None:
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 8, latin(site_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 12)
    title = f"Energy statement {item.number}" + (" - DRAFT, figures to date" if item.draft else "")
    pdf.cell(0, 7, latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    facts = [
        ("Client", f"{item.client_name} ({item.client})"),
        ("Period", f"{local(item.period_start, tz)} to {local(item.period_end, tz)} ({item.timezone})"),
        ("Version", f"{item.version}" + ("" if item.draft else
                                          f", closed {local(item.closed_at, tz)} by {item.closed_by}")),
    ]
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(22, 5, latin(label))
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 5, latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _section(pdf: FPDF, title: str) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 7, latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=7.5)


def _width(pdf: FPDF, text: str) -> float:
    """String width in mm, memoised per font: statements repeat the same words and figures."""
    key = (pdf.font_style, pdf.font_size_pt, text)
    cache: dict[tuple[str, float, str], float] = pdf.__dict__.setdefault("_widths", {})
    found = cache.get(key)
    if found is None:
        found = cache[key] = pdf.get_string_width(text)
    return found


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Greedy word wrap by string width (fpdf2's own table wraps per glyph and is ~10x slower)."""
    if _width(pdf, text) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and _width(pdf, candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current]


def _row(pdf: FPDF, values: list[str], widths: tuple[int, ...], right: set[int], heading: bool = False) -> None:
    pad, leading = 1.0, 3.4
    wrapped = [_wrap(pdf, latin(value), width - 2 * pad) for value, width in zip(values, widths, strict=True)]
    height = leading * max(len(lines) for lines in wrapped) + 1.6
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
    x, y = pdf.l_margin, pdf.get_y()
    if heading:
        pdf.set_fill_color(230, 233, 240)
        pdf.rect(x, y, sum(widths), height, style="F")
    pdf.line(x, y + height, x + sum(widths), y + height)
    for index, (lines, width) in enumerate(zip(wrapped, widths, strict=True)):
        for number_of_line, text in enumerate(lines):
            left = x + width - pad - _width(pdf, text) if index in right else x + pad
            pdf.text(left, y + leading * (number_of_line + 1), text)
        x += width
    pdf.set_y(y + height)


def _table(pdf: FPDF, header: list[str], rows: list[list[str]], widths: tuple[int, ...], right: set[int]) -> None:
    pdf.set_font("Helvetica", "B", 7.5)
    _row(pdf, header, widths, right, heading=True)
    pdf.set_font("Helvetica", size=7.5)
    for values in rows:
        _row(pdf, values, widths, right)
    pdf.ln(2)


def _lines(pdf: FPDF, item: Statement) -> None:
    _section(pdf, f"Lines ({item.currency})")
    rows = [[row["endpoint_id"] or "-", term_label(row["term"]), row["description"] or "",
             number(row["quantity"], 3), row["unit"] or "", number(row["unit_price"], 6),
             number(row["overhead_factor"], 6) if is_energy_term(row["term"]) else "", number(row["amount"], 2)]
            for row in item.lines.iter_rows(named=True)]
    _table(pdf, ["Endpoint", "Term", "Description", "Quantity", "Unit", "Unit price", "Factor", "Amount"],
           rows, (24, 20, 57, 18, 10, 18, 18, 21), {3, 5, 6, 7})


def is_energy_term(term: str) -> bool:
    """Energy and time-of-use lines (they carry an overhead factor and boundary readings)."""
    return term == "energy" or term.startswith("tou:")


def _boundaries(pdf: FPDF, item: Statement, tz: ZoneInfo) -> None:
    energy = item.lines.filter(is_energy(pl.col("term")))
    if energy.is_empty():
        return
    _section(pdf, "Boundary readings and coverage")
    rows = [[row["endpoint_id"], f"{local(row['period_start'], tz)} - {local(row['period_end'], tz)}",
             number(row["start_counter_kwh"], 3), row["start_method"] or "", number(row["end_counter_kwh"], 3),
             row["end_method"] or "", f"{number(row['covered_hours'], 1)} / {number(row['period_hours'], 1)}",
             number(row["estimated_kwh"], 3),
             "" if row["estimated_share"] is None else f"{row['estimated_share']:.1%}", row["status"] or ""]
            for row in energy.iter_rows(named=True)]
    _table(pdf, ["Endpoint", "Sub-period (site time)", "Start kWh", "how", "End kWh", "how", "Covered h",
                 "Est. kWh", "Est. share", "Status"], rows, (22, 36, 17, 16, 17, 16, 18, 14, 13, 17),
           {2, 4, 6, 7, 8})


def _totals(pdf: FPDF, item: Statement) -> None:
    adjustments = item.lines.filter(pl.col("term") == "adjustment")
    if not adjustments.is_empty():
        _section(pdf, "Adjustments to closed months")
        for row in adjustments.iter_rows(named=True):
            pdf.multi_cell(0, 4, latin(f"{row['adjusts']}: {row['description']}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    _section(pdf, "Totals")
    pdf.set_font("Helvetica", "B", 10)
    share = "no energy" if item.estimated_share is None else f"{item.estimated_share:.1%}"
    for label, value in (("Energy", f"{number(item.total_kwh, 3)} kWh"),
                         ("Total", f"{number(item.total_amount, 2)} {item.currency}"),
                         ("Estimated share", share)):
        pdf.cell(40, 6, latin(label))
        pdf.cell(0, 6, latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", size=7)
    pdf.multi_cell(0, 4, latin(f"SHA-256 of the {item.lines.height} line(s): {item.digest}"),
                   new_x="LMARGIN", new_y="NEXT")


def statements_pdf(statements: list[Statement], *, site_name: str, tz: ZoneInfo) -> bytes:
    """One PDF with each statement starting on its own page."""
    footer = statements[0].number if len(statements) == 1 else f"{len(statements)} statements"
    pdf = _StatementPdf(footer)
    pdf.set_title(latin(footer))
    pdf.set_author(latin(site_name))
    closed = [item.closed_at for item in statements if item.closed_at is not None]
    pdf.set_creation_date(max(closed) if closed and len(closed) == len(statements) else DRAFT_DATE)
    for item in statements:
        pdf.add_page()
        _header(pdf, item, site_name, tz)
        _lines(pdf, item)
        _boundaries(pdf, item, tz)
        _totals(pdf, item)
    if not statements:
        pdf.add_page()
        pdf.set_font("Helvetica", size=10)
        pdf.cell(0, 8, "No statements for this month.")
    return bytes(pdf.output())
