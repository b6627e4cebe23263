-- Consumption monitor tables (SQLite). Timestamps are UTC, written by SQLAlchemy's DateTime
-- type as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which sorts and compares correctly.
CREATE TABLE cm_endpoint (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    location TEXT,
    feed TEXT,
    type TEXT,
    vendor TEXT,
    poll_interval_s REAL NOT NULL,
    circuit_max_kw REAL,
    rollover_kwh REAL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    retired_at TIMESTAMP,
    config_hash TEXT NOT NULL,
    last_attempt_at TIMESTAMP,
    last_success_at TIMESTAMP,
    next_due_at TIMESTAMP,
    claimed_by TEXT,
    claimed_until TIMESTAMP
);

CREATE TABLE cm_client_assignment (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES cm_endpoint (id),
    client TEXT NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX cm_client_assignment_endpoint ON cm_client_assignment (endpoint_id, valid_from);

-- Every attempt is a row; cum_* are running totals per endpoint so billing counts readings
-- in a month from two index look-ups instead of scanning the month.
CREATE TABLE cm_reading (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES cm_endpoint (id),
    read_at TIMESTAMP NOT NULL,
    success BOOLEAN NOT NULL,
    raw_kwh REAL,
    power_w REAL,
    voltage_v REAL,
    current_a REAL,
    power_factor REAL,
    corrected_kwh REAL,
    offset_kwh REAL,
    estimated_kwh REAL NOT NULL DEFAULT 0,
    event TEXT CHECK (event IN ('reset', 'rollover', 'swap', 'implausible')),
    cum_good INTEGER NOT NULL DEFAULT 0,
    cum_failed INTEGER NOT NULL DEFAULT 0,
    cum_events INTEGER NOT NULL DEFAULT 0,
    cum_estimated_kwh REAL NOT NULL DEFAULT 0,
    error_class TEXT,
    error_message TEXT,
    evidence_path TEXT,
    reading_key TEXT NOT NULL UNIQUE,
    engine TEXT,
    duration_ms INTEGER
);
CREATE INDEX cm_reading_endpoint_time ON cm_reading (endpoint_id, read_at);
-- Billing only looks at usable readings: a partial index keeps those look-ups one probe each.
CREATE INDEX cm_reading_good ON cm_reading (endpoint_id, read_at) WHERE corrected_kwh IS NOT NULL;

CREATE TABLE cm_meter_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES cm_endpoint (id),
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('swap', 'correction')),
    old_final_kwh REAL,
    new_initial_kwh REAL,
    delta_kwh REAL,
    who TEXT NOT NULL,
    why TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX cm_meter_event_endpoint ON cm_meter_event (endpoint_id, at);
