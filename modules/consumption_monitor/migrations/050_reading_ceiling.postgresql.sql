-- A reading at its counter's declared ceiling (Vertiv/Geist stop at 9,999,000 Wh until reset) is
-- kept but not billed, with event 'ceiling' (issue 15). The CHECK was created on the partitioned
-- table of 003 (cm_reading_by_month, renamed cm_reading); an unpartitioned one would carry 001's name.
ALTER TABLE cm_reading DROP CONSTRAINT IF EXISTS cm_reading_by_month_event_check;
ALTER TABLE cm_reading DROP CONSTRAINT IF EXISTS cm_reading_event_check;
ALTER TABLE cm_reading ADD CONSTRAINT cm_reading_event_check
    CHECK (event IN ('reset', 'rollover', 'swap', 'implausible', 'ceiling'));
