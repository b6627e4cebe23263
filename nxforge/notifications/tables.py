"""The notification tables as SQLAlchemy objects to query with; ``migrations/001_tables.*.sql`` creates them.

The platform applies those migrations at start-up (as ``core.notifications``), like a module's,
so neither the core's metadata nor the migration runner needs to know this package.

``alerts`` keeps one row per alert (open until resolved, at most one open per module and key:
a partial unique index makes that true even when two collectors race). ``notification_attempts``
is both the outbox and the record: one row per notification per channel, pending until the
background worker delivers it or gives up, so nothing queued is lost when a ``--once`` run exits.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text

from nxforge.db.types import UTCDateTime

metadata = MetaData()
"""The notification tables only; a test checks the migrations create what it describes."""

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("module", String(100), nullable=False),
    Column("key", String(300), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("severity", String(20), nullable=False),  # warning | error | critical (info for notices)
    Column("state", String(20), nullable=False),  # open | closed | notice
    Column("opened_at", UTCDateTime, nullable=False, index=True),
    Column("last_sent_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("reminders", Integer, nullable=False, default=0),
    Column("message", Text, nullable=False),
    Column("closed_message", Text),
    Column("data", JSON),
)

Index(
    "ux_alerts_open_key",
    alerts.c.module,
    alerts.c.key,
    unique=True,
    sqlite_where=alerts.c.state == "open",
    postgresql_where=alerts.c.state == "open",
)
Index("ix_alerts_module_key", alerts.c.module, alerts.c.key, alerts.c.opened_at)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("alert_id", Integer, index=True),
    Column("module", String(100), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("phase", String(20), nullable=False),  # raised | escalated | reminder | recovered | notice
    Column("severity", String(20), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("status", String(20), nullable=False, index=True),  # pending | sending | sent | failed | dropped
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("claimed_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    Column("payload", JSON, nullable=False),
)

NOTIFICATION_TABLES = (alerts, notification_attempts)
