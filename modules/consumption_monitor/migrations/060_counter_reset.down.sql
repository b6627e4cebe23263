ALTER TABLE cm_reading DROP COLUMN counter_reset_at;
ALTER TABLE cm_endpoint DROP COLUMN resettable;
