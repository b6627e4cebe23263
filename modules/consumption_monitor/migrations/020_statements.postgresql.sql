-- Closed months (PostgreSQL): one statement per client and version, its lines, and the close/reopen
-- log. All three are append-only: the triggers refuse UPDATE and DELETE, so a statement sent to a
-- client can never change (a reopened month gets a new version beside the old one).
-- Money and quantities are stored as decimal text (exact, and what the SHA-256 digest covers).
CREATE TABLE cm_month_close (
    id BIGSERIAL PRIMARY KEY,
    month TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('close', 'reopen')),
    at TIMESTAMPTZ NOT NULL,
    who TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    confirmed_estimates BOOLEAN NOT NULL DEFAULT false,
    UNIQUE (month, version, action)
);

CREATE TABLE cm_statement (
    id BIGSERIAL PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    month TEXT NOT NULL,
    version INTEGER NOT NULL,
    client TEXT NOT NULL,
    client_name TEXT NOT NULL,
    currency TEXT NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ NOT NULL,
    timezone TEXT NOT NULL,
    total_amount TEXT NOT NULL,
    total_kwh TEXT NOT NULL,
    estimated_share DOUBLE PRECISION,
    line_count INTEGER NOT NULL,
    digest TEXT NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL,
    closed_by TEXT NOT NULL,
    UNIQUE (month, version, client)
);

CREATE TABLE cm_statement_line (
    statement_id BIGINT NOT NULL REFERENCES cm_statement (id),
    line_no INTEGER NOT NULL,
    client TEXT NOT NULL,
    client_name TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    term TEXT NOT NULL,
    description TEXT NOT NULL,
    period_start TIMESTAMPTZ,
    period_end TIMESTAMPTZ,
    quantity TEXT,
    unit TEXT NOT NULL,
    unit_price TEXT,
    currency TEXT NOT NULL,
    amount TEXT,
    overhead_factor TEXT,
    start_counter_kwh DOUBLE PRECISION,
    end_counter_kwh DOUBLE PRECISION,
    start_method TEXT,
    end_method TEXT,
    covered_hours DOUBLE PRECISION,
    period_hours DOUBLE PRECISION,
    estimated_kwh DOUBLE PRECISION,
    estimated_share DOUBLE PRECISION,
    resets INTEGER,
    failed_reads INTEGER,
    status TEXT NOT NULL,
    adjusts TEXT,
    PRIMARY KEY (statement_id, line_no)
);

CREATE INDEX cm_statement_month ON cm_statement (month, version);

CREATE FUNCTION cm_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: reopen the month to make a new version';
END;
$$;

CREATE TRIGGER cm_month_close_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cm_month_close
FOR EACH STATEMENT EXECUTE FUNCTION cm_refuse_change();
CREATE TRIGGER cm_statement_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cm_statement
FOR EACH STATEMENT EXECUTE FUNCTION cm_refuse_change();
CREATE TRIGGER cm_statement_line_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cm_statement_line
FOR EACH STATEMENT EXECUTE FUNCTION cm_refuse_change();
