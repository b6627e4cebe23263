-- Back to swaps and corrections only: the import events (which carry no energy) go.
DELETE FROM cm_meter_event WHERE kind = 'import';
ALTER TABLE cm_meter_event DROP CONSTRAINT cm_meter_event_kind_check;
ALTER TABLE cm_meter_event ADD CONSTRAINT cm_meter_event_kind_check CHECK (kind IN ('swap', 'correction'));
