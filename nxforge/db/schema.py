"""The core's tables. Modules bring their own tables through SQL migrations, prefixed with their name."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text

from nxforge.db.types import UTCDateTime

metadata = MetaData()

modules_table = Table(
    "modules",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("version", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # installed | enabled | disabled | failed
    Column("installed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("error", Text),
)

module_migrations = Table(
    "module_migrations",
    metadata,
    Column("module", String(100), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("checksum", String(64), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("module", String(100), nullable=False, index=True),
    Column("job", String(100), nullable=False),
    Column("trigger", String(20), nullable=False),  # schedule | once | manual
    Column("status", String(20), nullable=False),  # running | ok | failed | timeout | abandoned
    Column("attempt", Integer, nullable=False, default=1),
    Column("started_at", UTCDateTime, nullable=False, index=True),
    Column("finished_at", UTCDateTime),
    Column("summary", JSON),
    Column("error", Text),
    Column("log", Text),
    Column("host", String(200)),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("module", String(100), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("severity", String(20), nullable=False),  # info | warning | error | critical
    Column("message", Text, nullable=False),
    Column("data", JSON),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(200), nullable=False),
    Column("detail", JSON),
)

# Sign-in (nxforge/auth): tokens revoked by signing out, kept until they would have expired anyway ...
revoked_sessions = Table(
    "revoked_sessions",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("username", String(200), nullable=False),
    Column("revoked_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# ... and failed sign-ins per user name ("user:NAME") and per client address ("address:IP"), so
# backoff and lock-out hold across browser sessions and restarts.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False, index=True),
    Column("blocked_until", UTCDateTime),
)
