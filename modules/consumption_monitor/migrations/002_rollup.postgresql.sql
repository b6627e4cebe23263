-- Hourly rollup of readings for long History ranges (PostgreSQL), kept up to date by the
-- collector on write (rollup.py); backfilled here from the readings already stored.
CREATE TABLE cm_reading_hourly (
    endpoint_id TEXT NOT NULL REFERENCES cm_endpoint (id),
    hour TIMESTAMPTZ NOT NULL,
    first_at TIMESTAMPTZ,
    last_at TIMESTAMPTZ,
    first_kwh DOUBLE PRECISION,
    last_kwh DOUBLE PRECISION,
    good INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    power_sum_w DOUBLE PRECISION NOT NULL DEFAULT 0,
    power_n INTEGER NOT NULL DEFAULT 0,
    power_max_w DOUBLE PRECISION,
    PRIMARY KEY (endpoint_id, hour)
);

INSERT INTO cm_reading_hourly (endpoint_id, hour, first_at, last_at, first_kwh, last_kwh, good, failed,
                               power_sum_w, power_n, power_max_w)
SELECT endpoint_id, date_trunc('hour', read_at, 'UTC'),
       min(read_at) FILTER (WHERE corrected_kwh IS NOT NULL),
       max(read_at) FILTER (WHERE corrected_kwh IS NOT NULL),
       (array_agg(corrected_kwh ORDER BY read_at) FILTER (WHERE corrected_kwh IS NOT NULL))[1],
       (array_agg(corrected_kwh ORDER BY read_at DESC) FILTER (WHERE corrected_kwh IS NOT NULL))[1],
       count(*) FILTER (WHERE corrected_kwh IS NOT NULL), count(*) FILTER (WHERE corrected_kwh IS NULL),
       coalesce(sum(power_w) FILTER (WHERE corrected_kwh IS NOT NULL), 0),
       count(power_w) FILTER (WHERE corrected_kwh IS NOT NULL),
       max(power_w) FILTER (WHERE corrected_kwh IS NOT NULL)
FROM cm_reading
GROUP BY endpoint_id, date_trunc('hour', read_at, 'UTC');
