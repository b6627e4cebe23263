-- Back to the events before issue 15: a reading held at its ceiling stays held, as 'implausible'.
CREATE TABLE cm_reading_050 (
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
INSERT INTO cm_reading_050 (id, endpoint_id, read_at, success, raw_kwh, power_w, voltage_v, current_a, power_factor,
                            corrected_kwh, offset_kwh, estimated_kwh, event, cum_good, cum_failed, cum_events,
                            cum_estimated_kwh, error_class, error_message, evidence_path, reading_key, engine,
                            duration_ms)
SELECT id, endpoint_id, read_at, success, raw_kwh, power_w, voltage_v, current_a, power_factor,
       corrected_kwh, offset_kwh, estimated_kwh, CASE WHEN event = 'ceiling' THEN 'implausible' ELSE event END,
       cum_good, cum_failed, cum_events,
       cum_estimated_kwh, error_class, error_message, evidence_path, reading_key, engine, duration_ms
FROM cm_reading;
DROP TABLE cm_reading;
ALTER TABLE cm_reading_050 RENAME TO cm_reading;
CREATE INDEX cm_reading_endpoint_time ON cm_reading (endpoint_id, read_at);
-- Billing only looks at usable readings: a partial index keeps those look-ups one probe each.
CREATE INDEX cm_reading_good ON cm_reading (endpoint_id, read_at) WHERE corrected_kwh IS NOT NULL;
