-- Temperature monitor tables (SQLite). Times are UTC.
CREATE TABLE tm_readings (
    id INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    value REAL,
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
    pending_since TIMESTAMP,
    last_value REAL,
    last_at TIMESTAMP,
    changed_at TIMESTAMP
);
CREATE TABLE tm_device_state (
    device_id TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    alerting INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_ok_at TIMESTAMP
);
CREATE TABLE tm_alert_log (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    sensor_id TEXT NOT NULL,
    transition TEXT NOT NULL,
    level TEXT NOT NULL,
    direction TEXT,
    value REAL,
    threshold REAL,
    message TEXT NOT NULL
);
CREATE INDEX tm_alert_log_at ON tm_alert_log (at);
