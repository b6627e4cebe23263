-- Back to the events before issue 15: a reading held at its ceiling stays held, as 'implausible'.
UPDATE cm_reading SET event = 'implausible' WHERE event = 'ceiling';
ALTER TABLE cm_reading DROP CONSTRAINT cm_reading_event_check;
ALTER TABLE cm_reading ADD CONSTRAINT cm_reading_by_month_event_check
    CHECK (event IN ('reset', 'rollover', 'swap', 'implausible'));
