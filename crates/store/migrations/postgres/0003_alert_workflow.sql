-- Alert workflow (issue 7): alerts from sensor batches aggregate by (site, alert key); statuses
-- new/active/closed with a muted flag and an assignee; comments and a per-alert history;
-- exclusion rules and learned baseline entries that suppress alerts at ingest; custom rules on
-- protocol events.

ALTER TABLE alerts ADD COLUMN alert_key TEXT;
ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN muted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN src_ip TEXT;
ALTER TABLE alerts ADD COLUMN dst_ip TEXT;
ALTER TABLE alerts ADD COLUMN protocol TEXT;
ALTER TABLE alerts ADD COLUMN sensor_id BIGINT;
-- Rows inserted before this migration have no key (NULLs never collide).
CREATE UNIQUE INDEX alerts_key ON alerts(site_id, alert_key);
CREATE INDEX alerts_status ON alerts(site_id, status, last_seen);

CREATE TABLE alert_comments (
    id BIGSERIAL PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    user_name TEXT NOT NULL,
    at BIGINT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments(alert_id, id);

CREATE TABLE alert_history (
    id BIGSERIAL PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history(alert_id, id);

-- Every criterion that is set must match; weekdays is a bit mask (bit 0 = Monday), hours are
-- UTC, from inclusive to exclusive, wrapping past midnight when from > to.
CREATE TABLE alert_exclusions (
    id BIGSERIAL PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    device_key TEXT,
    subnet TEXT,
    kind TEXT,
    engine TEXT,
    sensor_id BIGINT,
    weekdays BIGINT,
    hour_from BIGINT,
    hour_to BIGINT,
    suppressed BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_exclusions_site ON alert_exclusions(site_id);

CREATE TABLE alert_rules (
    id BIGSERIAL PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    protocol TEXT NOT NULL,
    operation TEXT NOT NULL,
    detail_contains TEXT,
    src_subnet TEXT,
    dst_subnet TEXT,
    severity TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    fired BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_rules_site ON alert_rules(site_id);

CREATE TABLE baseline_entries (
    id BIGSERIAL PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    protocol TEXT NOT NULL,
    detail TEXT NOT NULL,
    suppressed BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, kind, src, dst, protocol)
);
