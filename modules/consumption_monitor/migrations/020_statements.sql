-- Closed months (SQLite): one statement per client and version, its lines, and the close/reopen
-- log. All three are append-only: the triggers refuse UPDATE and DELETE, so a statement sent to a
-- client can never change (a reopened month gets a new version beside the old one).
-- Money and quantities are stored as decimal text (exact, and what the SHA-256 digest covers).
CREATE TABLE cm_month_close (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    month TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('close', 'reopen')),
    at TIMESTAMP NOT NULL,
    who TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    confirmed_estimates BOOLEAN NOT NULL DEFAULT 0,
    UNIQUE (month, version, action)
);

CREATE TABLE cm_statement (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    month TEXT NOT NULL,
    version INTEGER NOT NULL,
    client TEXT NOT NULL,
    client_name TEXT NOT NULL,
    currency TEXT NOT NULL,
    period_start TIMESTAMP NOT NULL,
    period_end TIMESTAMP NOT NULL,
    timezone TEXT NOT NULL,
    total_amount TEXT NOT NULL,
    total_kwh TEXT NOT NULL,
    estimated_share REAL,
    line_count INTEGER NOT NULL,
    digest TEXT NOT NULL,
    closed_at TIMESTAMP NOT NULL,
    closed_by TEXT NOT NULL,
    UNIQUE (month, version, client)
);

CREATE TABLE cm_statement_line (
    statement_id INTEGER NOT NULL REFERENCES cm_statement (id),
    line_no INTEGER NOT NULL,
    client TEXT NOT NULL,
    client_name TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    term TEXT NOT NULL,
    description TEXT NOT NULL,
    period_start TIMESTAMP,
    period_end TIMESTAMP,
    quantity TEXT,
    unit TEXT NOT NULL,
    unit_price TEXT,
    currency TEXT NOT NULL,
    amount TEXT,
    overhead_factor TEXT,
    start_counter_kwh REAL,
    end_counter_kwh REAL,
    start_method TEXT,
    end_method TEXT,
    covered_hours REAL,
    period_hours REAL,
    estimated_kwh REAL,
    estimated_share REAL,
    resets INTEGER,
    failed_reads INTEGER,
    status TEXT NOT NULL,
    adjusts TEXT,
    PRIMARY KEY (statement_id, line_no)
);

CREATE INDEX cm_statement_month ON cm_statement (month, version);

CREATE TRIGGER cm_month_close_no_update BEFORE UPDATE ON cm_month_close
BEGIN SELECT RAISE(ABORT, 'cm_month_close is append-only'); END;
CREATE TRIGGER cm_month_close_no_delete BEFORE DELETE ON cm_month_close
BEGIN SELECT RAISE(ABORT, 'cm_month_close is append-only'); END;
CREATE TRIGGER cm_statement_no_update BEFORE UPDATE ON cm_statement
BEGIN SELECT RAISE(ABORT, 'cm_statement is append-only: reopen the month to make a new version'); END;
CREATE TRIGGER cm_statement_no_delete BEFORE DELETE ON cm_statement
BEGIN SELECT RAISE(ABORT, 'cm_statement is append-only: reopen the month to make a new version'); END;
CREATE TRIGGER cm_statement_line_no_update BEFORE UPDATE ON cm_statement_line
BEGIN SELECT RAISE(ABORT, 'cm_statement_line is append-only'); END;
CREATE TRIGGER cm_statement_line_no_delete BEFORE DELETE ON cm_statement_line
BEGIN SELECT RAISE(ABORT, 'cm_statement_line is append-only'); END;
