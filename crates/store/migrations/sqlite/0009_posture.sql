-- Exposure management (issue 9): what users decide about recommendations, metrics and
-- initiatives, their favourite initiatives, and the score history the console records. The
-- PostgreSQL twin is postgres/0009_posture.sql.
--
-- "All sites" is site_key 0 (site_id NULL): a unique key over a nullable column would let two
-- rows for all sites coexist, NULLs being distinct. Deleting a site deletes its rows.

-- A user's decision about one recommendation, for one site or for all: risk accepted or an
-- exception, with its reason, author and optional expiry. "Active" is the absence of a row.
CREATE TABLE posture_recommendation_states (
    id INTEGER PRIMARY KEY,
    recommendation TEXT NOT NULL,
    site_id BIGINT REFERENCES sites(id) ON DELETE CASCADE,
    site_key BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('risk_accepted', 'exception')),
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    expires_at BIGINT,
    UNIQUE (recommendation, site_key)
);
CREATE INDEX posture_recommendation_states_site ON posture_recommendation_states(site_key);

-- An administrator's weight for a metric, replacing the catalog's default.
CREATE TABLE posture_metric_weights (
    metric TEXT PRIMARY KEY,
    weight TEXT NOT NULL CHECK (weight IN ('high', 'medium', 'low', 'risk_accepted')),
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL
);

-- An administrator's target score for an initiative (0 to 100), replacing the default.
CREATE TABLE posture_initiative_targets (
    initiative TEXT PRIMARY KEY,
    target DOUBLE PRECISION NOT NULL CHECK (target >= 0 AND target <= 100),
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL
);

CREATE TABLE posture_favourites (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    initiative TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, initiative)
);

-- One row each time an initiative's score or its inputs changed, for one site or all sites
-- (site_key 0). `snapshot` and `change` are the posture crate's JSON, opaque here; `change` is
-- NULL for a row that only records a state (the first one). `score_drop` 0/1: the row ended a
-- drop the console reported. The store keeps a bounded number of rows per series.
CREATE TABLE posture_history (
    id INTEGER PRIMARY KEY,
    initiative TEXT NOT NULL,
    site_id BIGINT REFERENCES sites(id) ON DELETE CASCADE,
    site_key BIGINT NOT NULL,
    at BIGINT NOT NULL,
    score DOUBLE PRECISION,
    snapshot TEXT NOT NULL,
    change TEXT,
    score_drop BIGINT NOT NULL CHECK (score_drop IN (0, 1))
);
CREATE INDEX posture_history_series ON posture_history(initiative, site_key, at);
