-- PostgreSQL: cm_reading becomes a table partitioned by month of read_at (declarative
-- partitioning), so old months can be detached, archived or dropped and the indexes of the
-- current month stay small. Keys of a partitioned table must include the partition key:
-- the primary key is (id, read_at) and the idempotency key is UNIQUE (reading_key, read_at)
-- (reading_key already names the instant, so this is as strict as UNIQUE (reading_key)).
--
-- cm_reading_ensure_partitions(from, to) creates the missing monthly partitions; the collector
-- calls it before writing (store.ensure_partitions), so a month never lacks its partition.
-- There is no DEFAULT partition on purpose: creating a month's partition would then have to
-- move rows out of it.

CREATE FUNCTION cm_reading_ensure_partitions(from_at TIMESTAMPTZ, to_at TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    month_start TIMESTAMP := date_trunc('month', from_at AT TIME ZONE 'UTC');
    part TEXT;
    created INTEGER := 0;
BEGIN
    WHILE (month_start AT TIME ZONE 'UTC') <= to_at LOOP
        part := 'cm_reading_' || to_char(month_start, 'YYYY_MM');
        IF to_regclass(part) IS NULL THEN
            BEGIN
                EXECUTE 'CREATE TABLE ' || quote_ident(part) || ' PARTITION OF cm_reading FOR VALUES FROM ('
                    || quote_literal((month_start AT TIME ZONE 'UTC')::text) || ') TO ('
                    || quote_literal(((month_start + INTERVAL '1 month') AT TIME ZONE 'UTC')::text) || ')';
                created := created + 1;
            EXCEPTION WHEN duplicate_table THEN
                NULL;  -- another collector created it a moment ago
            END;
        END IF;
        month_start := month_start + INTERVAL '1 month';
    END LOOP;
    RETURN created;
END
$$;

CREATE TABLE cm_reading_by_month (
    id BIGINT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES cm_endpoint (id),
    read_at TIMESTAMPTZ NOT NULL,
    success BOOLEAN NOT NULL,
    raw_kwh DOUBLE PRECISION,
    power_w DOUBLE PRECISION,
    voltage_v DOUBLE PRECISION,
    current_a DOUBLE PRECISION,
    power_factor DOUBLE PRECISION,
    corrected_kwh DOUBLE PRECISION,
    offset_kwh DOUBLE PRECISION,
    estimated_kwh DOUBLE PRECISION NOT NULL DEFAULT 0,
    event TEXT CHECK (event IN ('reset', 'rollover', 'swap', 'implausible')),
    cum_good INTEGER NOT NULL DEFAULT 0,
    cum_failed INTEGER NOT NULL DEFAULT 0,
    cum_events INTEGER NOT NULL DEFAULT 0,
    cum_estimated_kwh DOUBLE PRECISION NOT NULL DEFAULT 0,
    error_class TEXT,
    error_message TEXT,
    evidence_path TEXT,
    reading_key TEXT NOT NULL,
    engine TEXT,
    duration_ms INTEGER
) PARTITION BY RANGE (read_at);

-- The old table's rows, each month into its partition (ids kept).
ALTER TABLE cm_reading RENAME TO cm_reading_unpartitioned;
ALTER TABLE cm_reading_by_month RENAME TO cm_reading;
SELECT cm_reading_ensure_partitions(
    least(coalesce((SELECT min(read_at) FROM cm_reading_unpartitioned), now()), now() - INTERVAL '1 month'),
    greatest(coalesce((SELECT max(read_at) FROM cm_reading_unpartitioned), now()), now()) + INTERVAL '2 months');
INSERT INTO cm_reading SELECT * FROM cm_reading_unpartitioned;
DROP TABLE cm_reading_unpartitioned;  -- and its identity sequence, whose name the new one takes

-- PostgreSQL 15 has no identity columns on partitioned tables: a plain sequence, carried on.
CREATE SEQUENCE cm_reading_id_seq OWNED BY cm_reading.id;
SELECT setval('cm_reading_id_seq', coalesce((SELECT max(id) FROM cm_reading), 0) + 1, false);
ALTER TABLE cm_reading ALTER COLUMN id SET DEFAULT nextval('cm_reading_id_seq');

ALTER TABLE cm_reading ADD CONSTRAINT cm_reading_pkey PRIMARY KEY (id, read_at);
ALTER TABLE cm_reading ADD CONSTRAINT cm_reading_reading_key_key UNIQUE (reading_key, read_at);
CREATE INDEX cm_reading_endpoint_time ON cm_reading (endpoint_id, read_at);
CREATE INDEX cm_reading_good ON cm_reading (endpoint_id, read_at) WHERE corrected_kwh IS NOT NULL;
