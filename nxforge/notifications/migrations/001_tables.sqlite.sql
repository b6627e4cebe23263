-- The notification tables (SQLite): alerts (at most one open per module and key) and the
-- delivery outbox. IF NOT EXISTS: databases made before this migration already have them.
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER NOT NULL,
    module VARCHAR(100) NOT NULL,
    "key" VARCHAR(300) NOT NULL,
    kind VARCHAR(100) NOT NULL,
    severity VARCHAR(20) NOT NULL,
    state VARCHAR(20) NOT NULL,
    opened_at DATETIME NOT NULL,
    last_sent_at DATETIME,
    closed_at DATETIME,
    reminders INTEGER NOT NULL,
    message TEXT NOT NULL,
    closed_message TEXT,
    data JSON,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_alerts_module_key ON alerts (module, "key", opened_at);
CREATE INDEX IF NOT EXISTS ix_alerts_opened_at ON alerts (opened_at);
CREATE UNIQUE INDEX IF NOT EXISTS ux_alerts_open_key ON alerts (module, "key") WHERE state = 'open';
CREATE TABLE IF NOT EXISTS notification_attempts (
    id INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    alert_id INTEGER,
    module VARCHAR(100) NOT NULL,
    kind VARCHAR(100) NOT NULL,
    phase VARCHAR(20) NOT NULL,
    severity VARCHAR(20) NOT NULL,
    channel VARCHAR(100) NOT NULL,
    status VARCHAR(20) NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at DATETIME,
    claimed_at DATETIME,
    sent_at DATETIME,
    last_error TEXT,
    payload JSON NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_notification_attempts_alert_id ON notification_attempts (alert_id);
CREATE INDEX IF NOT EXISTS ix_notification_attempts_created_at ON notification_attempts (created_at);
CREATE INDEX IF NOT EXISTS ix_notification_attempts_status ON notification_attempts (status);
