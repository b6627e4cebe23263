-- Uninstall: the partitioned cm_reading goes with 001's down; only the function is left.
DROP FUNCTION cm_reading_ensure_partitions(TIMESTAMPTZ, TIMESTAMPTZ);
