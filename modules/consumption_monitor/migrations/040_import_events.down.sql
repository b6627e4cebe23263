-- Back to swaps and corrections only: the import events (which carry no energy) go.
DELETE FROM cm_meter_event WHERE kind = 'import';
CREATE TABLE cm_meter_event_039 (
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
INSERT INTO cm_meter_event_039 (id, endpoint_id, at, kind, old_final_kwh, new_initial_kwh, delta_kwh, who, why,
                                recorded_at)
SELECT id, endpoint_id, at, kind, old_final_kwh, new_initial_kwh, delta_kwh, who, why, recorded_at
FROM cm_meter_event;
DROP TABLE cm_meter_event;
ALTER TABLE cm_meter_event_039 RENAME TO cm_meter_event;
CREATE INDEX cm_meter_event_endpoint ON cm_meter_event (endpoint_id, at);
