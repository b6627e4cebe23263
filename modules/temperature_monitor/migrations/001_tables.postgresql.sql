-- Temperature monitor tables (PostgreSQL). Times are UTC.
CREATE TABLE tm_readings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    value DOUBLE PRECISION,
    unit TEXT,
    error TEXT
);
CREATE INDEX tm_readings_sensor_at ON tm_readings (sensor_id, at);
CREATE TABLE tm_sensor_state (
    sensor_id TEXT PRIMARY KEY,
    level TEXT NOT NULL DEFAULT 'ok',
    direction TEXT,
    pending_level TEXT,
    pending_direction TEXT,
    pending_since TIMESTAMPTZ,
    last_value DOUBLE PRECISION,
    last_at TIMESTAMPTZ,
    changed_at TIMESTAMPTZ
);
CREATE TABLE tm_device_state (
    device_id TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    alerting INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_ok_at TIMESTAMPTZ
);
CREATE TABLE tm_alert_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    sensor_id TEXT NOT NULL,
    transition TEXT NOT NULL,
    level TEXT NOT NULL,
    direction TEXT,
    value DOUBLE PRECISION,
    threshold DOUBLE PRECISION,
    message TEXT NOT NULL
);
CREATE INDEX tm_alert_log_at ON tm_alert_log (at);
