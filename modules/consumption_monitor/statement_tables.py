"""SQLAlchemy Core tables mirroring ``migrations/020_statements*.sql``: closed months, statements, lines.

The migration creates them (with triggers that refuse UPDATE and DELETE); these objects only
describe them, so inserts and look-ups are dialect-neutral.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

from nxforge.sdk import UTCDateTime

metadata = MetaData()
_ID = BigInteger().with_variant(Integer, "sqlite")

month_close = Table(
    "cm_month_close",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", String(8), nullable=False),  # close | reopen
    Column("at", UTCDateTime, nullable=False),
    Column("who", Text, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("confirmed_estimates", Boolean, nullable=False, default=False),
)

statement = Table(
    "cm_statement",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("number", Text, nullable=False, unique=True),
    Column("month", String(7), nullable=False),
    Column("version", Integer, nullable=False),
    Column("client", Text, nullable=False),
    Column("client_name", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("total_amount", Text, nullable=False),
    Column("total_kwh", Text, nullable=False),
    Column("estimated_share", Float),
    Column("line_count", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("closed_at", UTCDateTime, nullable=False),
    Column("closed_by", Text, nullable=False),
)

statement_line = Table(
    "cm_statement_line",
    metadata,
    Column("statement_id", _ID, ForeignKey("cm_statement.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("client", Text, nullable=False),
    Column("client_name", Text, nullable=False),
    Column("endpoint_id", Text, nullable=False),
    Column("term", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("period_start", UTCDateTime),
    Column("period_end", UTCDateTime),
    Column("quantity", Text),
    Column("unit", Text, nullable=False),
    Column("unit_price", Text),
    Column("currency", Text, nullable=False),
    Column("amount", Text),
    Column("overhead_factor", Text),
    Column("start_counter_kwh", Float),
    Column("end_counter_kwh", Float),
    Column("start_method", Text),
    Column("end_method", Text),
    Column("covered_hours", Float),
    Column("period_hours", Float),
    Column("estimated_kwh", Float),
    Column("estimated_share", Float),
    Column("resets", Integer),
    Column("failed_reads", Integer),
    Column("status", Text, nullable=False),
    Column("adjusts", Text),
)
