-- Readings imported after a month was closed are recorded as an 'import' meter event with no energy
-- of its own, so the closed month's change becomes an adjustment line (issue 13) and says where it
-- came from. SQLite cannot alter a CHECK constraint: the table is rebuilt with its rows and index.
CREATE TABLE cm_meter_event_040 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES cm_endpoint (id),
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('swap', 'correction', 'import')),
    old_final_kwh REAL,
    new_initial_kwh REAL,
    delta_kwh REAL,
    who TEXT NOT NULL,
    why TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
INSERT INTO cm_meter_event_040 (id, endpoint_id, at, kind, old_final_kwh, new_initial_kwh, delta_kwh, who, why,
                                recorded_at)
SELECT id, endpoint_id, at, kind, old_final_kwh, new_initial_kwh, delta_kwh, who, why, recorded_at
FROM cm_meter_event;
DROP TABLE cm_meter_event;
ALTER TABLE cm_meter_event_040 RENAME TO cm_meter_event;
CREATE INDEX cm_meter_event_endpoint ON cm_meter_event (endpoint_id, at);
