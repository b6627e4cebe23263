"""Accounting export: statement lines as invoice lines in Xero's CSV layout, one invoice per statement.

Xero computes a line's amount as Quantity x UnitAmount; when that does not give our amount to
the cent (a price with an overhead factor, rounded per line), the line goes as 1 x amount with
the quantity and price in its description, so the invoice total always equals the statement's.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from .statement_pdf import term_label
from .statements import Statement

XERO_COLUMNS = ["ContactName", "InvoiceNumber", "InvoiceDate", "DueDate", "Description", "Quantity", "UnitAmount",
                "AccountCode", "TaxType", "Currency"]  # fmt: skip
CENT = Decimal("0.01")


@dataclass(frozen=True)
class AccountingCodes:
    """Where invoice lines are booked (from the module's settings)."""

    account_code: str = "200"
    tax_type: str = "OUTPUT"
    payment_days: int = 14


def invoice_date(item: Statement, at: datetime, tz: ZoneInfo) -> datetime:
    """The close time of a closed statement; ``at`` for a draft."""
    return (item.closed_at or at).astimezone(tz)


def _quantity_and_unit(quantity: Decimal, unit_price: Decimal, factor: Decimal, amount: Decimal
                       ) -> tuple[Decimal, Decimal] | None:
    unit_amount = (unit_price * factor).normalize()
    exponent = unit_amount.as_tuple().exponent
    fits = isinstance(exponent, int) and exponent >= -4  # Xero keeps 4 decimals of a unit amount
    if fits and (quantity * unit_amount).quantize(CENT, rounding=ROUND_HALF_UP) == amount:
        return quantity, unit_amount
    return None


def accounting_rows(statements: list[Statement], codes: AccountingCodes, at: datetime, tz: ZoneInfo
                    ) -> list[list[str]]:
    """One row per priced line of every statement."""
    rows = []
    for item in statements:
        date = invoice_date(item, at, tz)
        due = date + timedelta(days=codes.payment_days)
        for line in item.lines.iter_rows(named=True):
            amount = line["amount"]
            if amount is None:
                continue
            what = f"{line['endpoint_id']}: " if line["endpoint_id"] else ""
            description = f"{what}{term_label(line['term'])} - {line['description']}"
            quantity, price = line["quantity"], line["unit_price"]
            fitted = (_quantity_and_unit(quantity, price, line["overhead_factor"] or Decimal(1), amount)
                      if quantity is not None and price is not None else None)
            if fitted is None:
                if quantity is not None:
                    description += f" ({quantity} {line['unit']} at {price} {line['currency']}/{line['unit']})"
                fitted = (Decimal(1), amount)
            rows.append([item.client_name, item.number, f"{date:%Y-%m-%d}", f"{due:%Y-%m-%d}", description,
                         str(fitted[0]), str(fitted[1]), codes.account_code, codes.tax_type, item.currency])
    return rows


def accounting_csv(statements: list[Statement], codes: AccountingCodes, at: datetime, tz: ZoneInfo) -> bytes:
    """The CSV Xero's invoice import reads (UTF-8, header row, CRLF as csv writes it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(XERO_COLUMNS)
    writer.writerows(accounting_rows(statements, codes, at, tz))
    return buffer.getvalue().encode("utf-8")
