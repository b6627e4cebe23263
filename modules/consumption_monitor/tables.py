"""SQLAlchemy Core tables mirroring ``migrations/001_tables.sql``, so queries are dialect-neutral.

The migrations create the tables; these objects only describe them (never ``create_all``).
``UTCDateTime`` makes SQLite and PostgreSQL both hand back aware UTC datetimes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

from nxforge.sdk import UTCDateTime

metadata = MetaData()

endpoint = Table(
    "cm_endpoint",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", Text, nullable=False),
    Column("client", Text, nullable=False),
    Column("location", Text),
    Column("feed", String(8)),
    Column("type", Text),
    Column("vendor", Text),
    Column("poll_interval_s", Float, nullable=False),
    Column("circuit_max_kw", Float),
    Column("default_max_kw", Float),  # 030_plausible_power: plausible kW without a rating (module setting)
    Column("rollover_kwh", Float),
    Column("resettable", Boolean, nullable=False),  # 060 (default TRUE): False = a drop is held, never a reset
    Column("enabled", Boolean, nullable=False),
    Column("retired_at", UTCDateTime),
    Column("config_hash", String(64), nullable=False),
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("next_due_at", UTCDateTime),
    Column("claimed_by", Text),
    Column("claimed_until", UTCDateTime),
)

client_assignment = Table(
    "cm_client_assignment",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("endpoint_id", String(200), ForeignKey("cm_endpoint.id"), nullable=False),
    Column("client", Text, nullable=False),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

reading = Table(
    "cm_reading",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("endpoint_id", String(200), ForeignKey("cm_endpoint.id"), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Column("raw_kwh", Float),
    Column("power_w", Float),
    Column("voltage_v", Float),
    Column("current_a", Float),
    Column("power_factor", Float),
    Column("corrected_kwh", Float),
    Column("offset_kwh", Float),
    Column("estimated_kwh", Float, nullable=False, default=0.0),
    Column("event", String(16)),
    Column("cum_good", Integer, nullable=False, default=0),
    Column("cum_failed", Integer, nullable=False, default=0),
    Column("cum_events", Integer, nullable=False, default=0),
    Column("cum_estimated_kwh", Float, nullable=False, default=0.0),
    Column("error_class", String(40)),
    Column("error_message", Text),
    Column("evidence_path", Text),
    Column("reading_key", String(300), nullable=False, unique=True),
    Column("engine", String(16)),
    Column("duration_ms", Integer),
    Column("counter_reset_at", UTCDateTime),  # 060: when the device said its counter last restarted
)

meter_event = Table(
    "cm_meter_event",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("endpoint_id", String(200), ForeignKey("cm_endpoint.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),  # swap | correction | import (readings imported; no energy)
    Column("old_final_kwh", Float),
    Column("new_initial_kwh", Float),
    Column("delta_kwh", Float),
    Column("who", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

reading_hourly = Table(
    "cm_reading_hourly",
    metadata,
    Column("endpoint_id", String(200), primary_key=True),
    Column("hour", UTCDateTime, primary_key=True),
    Column("first_at", UTCDateTime),
    Column("last_at", UTCDateTime),
    Column("first_kwh", Float),
    Column("last_kwh", Float),
    Column("good", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("power_sum_w", Float, nullable=False, default=0.0),
    Column("power_n", Integer, nullable=False, default=0),
    Column("power_max_w", Float),
)
