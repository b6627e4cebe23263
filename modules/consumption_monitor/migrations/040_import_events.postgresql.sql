-- Readings imported after a month was closed are recorded as an 'import' meter event with no energy
-- of its own, so the closed month's change becomes an adjustment line (issue 13).
ALTER TABLE cm_meter_event DROP CONSTRAINT cm_meter_event_kind_check;
ALTER TABLE cm_meter_event ADD CONSTRAINT cm_meter_event_kind_check CHECK (kind IN ('swap', 'correction', 'import'));
