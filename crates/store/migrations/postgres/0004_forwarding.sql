-- Forwarding rules, their durable delivery queue, and playbooks (issue 7, part 3).
--
-- Filters and destinations are JSON documents the console validates: their shapes grow with new
-- transports without a migration. A rule's secret (webhook HMAC key, SMTP password) is stored as
-- given because it must be used to sign or log in; the console never shows it back.

CREATE TABLE forward_rules (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    enabled BIGINT NOT NULL,
    filter TEXT NOT NULL,
    destination TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per (rule, alert occurrence); the occurrence is the alert's count when it was seen, so
-- a repeat of an alert is forwarded again and a second scan of the same state is not. The row
-- holds a snapshot of the alert: what is delivered is what was seen, even if the alert changes
-- or goes away before the receiver comes back. Deleted only after the receiver accepted it.
CREATE TABLE forward_queue (
    id BIGSERIAL PRIMARY KEY,
    rule_id BIGINT NOT NULL REFERENCES forward_rules(id) ON DELETE CASCADE,
    alert_id BIGINT NOT NULL,
    occurrence BIGINT NOT NULL,
    alert TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (rule_id, alert_id, occurrence)
);
CREATE INDEX forward_queue_due ON forward_queue(next_attempt, id);

-- The cursor over the alerts table: the state of each alert the scanner has already turned into
-- queue rows and playbook runs. An alert whose count or status differs from this row is new work.
-- Kept in the database, so nothing depends on a console's memory and a restart loses nothing.
CREATE TABLE forward_seen (
    alert_id BIGINT PRIMARY KEY,
    count BIGINT NOT NULL,
    status TEXT NOT NULL
);

-- Counters: messages delivered, occurrences dropped because the queue was full.
CREATE TABLE forward_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO forward_counters (name, value) VALUES ('delivered', 0), ('overflow', 0),
    ('playbook_overflow', 0);

-- Playbooks: on alerts matching the filter, ordered actions (JSON array).
CREATE TABLE playbooks (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    enabled BIGINT NOT NULL,
    filter TEXT NOT NULL,
    actions TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One run per (playbook, alert occurrence). `step` is the next action to run: a run that fails
-- at step 2 is retried from step 2, not from the start (steps before it already took effect).
CREATE TABLE playbook_runs (
    id BIGSERIAL PRIMARY KEY,
    playbook_id BIGINT NOT NULL REFERENCES playbooks(id) ON DELETE CASCADE,
    alert_id BIGINT NOT NULL,
    occurrence BIGINT NOT NULL,
    alert TEXT NOT NULL,
    status TEXT NOT NULL,
    step BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    log TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (playbook_id, alert_id, occurrence)
);
CREATE INDEX playbook_runs_due ON playbook_runs(status, next_attempt, id);
