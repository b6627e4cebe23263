-- Hourly rollup of readings for long History ranges (SQLite), kept up to date by the collector
-- on write (rollup.py); backfilled here from the readings already stored.
CREATE TABLE cm_reading_hourly (
    endpoint_id TEXT NOT NULL REFERENCES cm_endpoint (id),
    hour TIMESTAMP NOT NULL,
    first_at TIMESTAMP,
    last_at TIMESTAMP,
    first_kwh REAL,
    last_kwh REAL,
    good INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    power_sum_w REAL NOT NULL DEFAULT 0,
    power_n INTEGER NOT NULL DEFAULT 0,
    power_max_w REAL,
    PRIMARY KEY (endpoint_id, hour)
);

-- Timestamps are 'YYYY-MM-DD HH:MM:SS.ffffff' text: the hour is the first 13 characters.
INSERT INTO cm_reading_hourly (endpoint_id, hour, first_at, last_at, first_kwh, last_kwh, good, failed,
                               power_sum_w, power_n, power_max_w)
SELECT endpoint_id, hour,
       min(CASE WHEN usable THEN read_at END), max(CASE WHEN usable THEN read_at END),
       max(CASE WHEN usable AND first_rank = 1 THEN corrected_kwh END),
       max(CASE WHEN usable AND last_rank = 1 THEN corrected_kwh END),
       sum(usable), sum(1 - usable),
       coalesce(sum(CASE WHEN usable THEN power_w END), 0), count(CASE WHEN usable THEN power_w END),
       max(CASE WHEN usable THEN power_w END)
FROM (
    SELECT endpoint_id, substr(read_at, 1, 13) || ':00:00.000000' AS hour, read_at, corrected_kwh, power_w,
           corrected_kwh IS NOT NULL AS usable,
           row_number() OVER (PARTITION BY endpoint_id, substr(read_at, 1, 13), corrected_kwh IS NULL
                              ORDER BY read_at) AS first_rank,
           row_number() OVER (PARTITION BY endpoint_id, substr(read_at, 1, 13), corrected_kwh IS NULL
                              ORDER BY read_at DESC) AS last_rank
    FROM cm_reading
) AS ranked
GROUP BY endpoint_id, hour;
