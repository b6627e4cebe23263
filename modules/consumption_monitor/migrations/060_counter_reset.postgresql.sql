-- A counter's reset is decided, not guessed (issue 15): when the device says its counter last
-- restarted (Redfish SensorResetTime), each reading keeps that instant; an endpoint whose counter
-- is declared never reset (resettable: false) has a drop held for review instead of folded.
-- On the partitioned cm_reading (003) the column reaches every monthly partition.
ALTER TABLE cm_reading ADD COLUMN counter_reset_at TIMESTAMPTZ;
ALTER TABLE cm_endpoint ADD COLUMN resettable BOOLEAN NOT NULL DEFAULT TRUE;
