"""SQLAlchemy views of the ``tm_`` tables the migrations create (for portable queries, not DDL)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

from nxforge.sdk import UTCDateTime

# Own metadata: the core's create_all must never create (or know of) a module's tables.
tm_metadata = MetaData()

readings = Table(
    "tm_readings", tm_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sensor_id", String, nullable=False),
    Column("device_id", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("value", Float),
    Column("unit", String),
    Column("error", Text),
)

sensor_state = Table(
    "tm_sensor_state", tm_metadata,
    Column("sensor_id", String, primary_key=True),
    Column("level", String, nullable=False),
    Column("direction", String),
    Column("pending_level", String),
    Column("pending_direction", String),
    Column("pending_since", UTCDateTime),
    Column("last_value", Float),
    Column("last_at", UTCDateTime),
    Column("changed_at", UTCDateTime),
)

device_state = Table(
    "tm_device_state", tm_metadata,
    Column("device_id", String, primary_key=True),
    Column("consecutive_failures", Integer, nullable=False),
    Column("alerting", Integer, nullable=False),
    Column("last_error", Text),
    Column("last_ok_at", UTCDateTime),
)

alert_log = Table(
    "tm_alert_log", tm_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("sensor_id", String, nullable=False),
    Column("transition", String, nullable=False),
    Column("level", String, nullable=False),
    Column("direction", String),
    Column("value", Float),
    Column("threshold", Float),
    Column("message", Text, nullable=False),
)
