-- Ironward's first schema (SQLite). The PostgreSQL twin is postgres/0001_init.sql: keep the two
-- in step, table by table. Applied migrations are never edited; changes go in a new file.
--
-- Timestamps are nanoseconds since the epoch (BIGINT), as in ironward_model::Timestamp.
-- Counters are BIGINT; the store saturates them below 2^62 so SQLite never turns them into REAL.
-- Flags are BIGINT 0/1 on both backends: sqlx's Any driver cannot read a column SQLite declares
-- BOOLEAN, and one representation keeps every query identical.

CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE zones (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL
);

INSERT INTO roles (name, description) VALUES
    ('admin', 'Everything: users, sites, sensors, settings and all security work'),
    ('analyst', 'Security work: alerts, devices, groups and reports'),
    ('operator', 'Operations view; acknowledges operational alerts'),
    ('viewer', 'Read-only');

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL REFERENCES roles(name),
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    last_login BIGINT
);

-- A user's site scope; no rows means all sites. Deleting a site that is in someone's scope is
-- refused (RESTRICT): dropping the row would silently widen that user's scope to every site.
CREATE TABLE user_sites (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE RESTRICT,
    PRIMARY KEY (user_id, site_id)
);
CREATE INDEX user_sites_site ON user_sites(site_id);

-- Sensors are never removed with their zone by accident: RESTRICT, and the store refuses
-- deleting a site or zone that still has sensors.
CREATE TABLE sensors (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE RESTRICT,
    zone_id BIGINT NOT NULL REFERENCES zones(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    credential_hash TEXT NOT NULL UNIQUE,
    enrolled_at BIGINT NOT NULL,
    last_seen BIGINT,
    version TEXT,
    source TEXT,
    health_at BIGINT,
    packets BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    packets_per_second DOUBLE PRECISION NOT NULL DEFAULT 0,
    drops BIGINT NOT NULL DEFAULT 0,
    UNIQUE (zone_id, name)
);
CREATE INDEX sensors_site ON sensors(site_id);

-- One-time tokens: only the SHA-256 of the token is kept; used_at is set when a sensor enrols.
CREATE TABLE enrollment_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    zone_id BIGINT NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    sensor_name TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    sensor_id BIGINT REFERENCES sensors(id) ON DELETE SET NULL
);
CREATE INDEX enrollment_tokens_site ON enrollment_tokens(site_id);

-- Devices: the same device key in the same zone is one device, whichever sensor saw it. The
-- columns beside `data` (the full ironward_model::Device as JSON) are denormalised for filters
-- and sorts; `search` is the lower-cased text that free-text search scans; `protocols` is
-- `,modbus,s7comm,` so a protocol filter is one LIKE; `ip_sort` orders addresses numerically.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    zone_id BIGINT NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    sensor_id BIGINT REFERENCES sensors(id) ON DELETE SET NULL,
    device_key TEXT NOT NULL CHECK (device_key LIKE 'mac:%' OR device_key LIKE 'ip:%'),
    name TEXT NOT NULL,
    vendor TEXT,
    device_type TEXT,
    role TEXT,
    model TEXT,
    firmware TEXT,
    os TEXT,
    hostname TEXT,
    ips TEXT NOT NULL,
    ip_sort TEXT NOT NULL,
    mac TEXT,
    protocols TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    search TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (zone_id, device_key)
);
CREATE INDEX devices_site_last_seen ON devices(site_id, last_seen);
CREATE INDEX devices_last_seen ON devices(last_seen);
CREATE INDEX devices_first_seen ON devices(first_seen);
CREATE INDEX devices_name ON devices(name);
CREATE INDEX devices_ip_sort ON devices(ip_sort);
CREATE INDEX devices_vendor ON devices(vendor);
CREATE INDEX devices_type ON devices(device_type);
CREATE INDEX devices_model ON devices(model);
CREATE INDEX devices_firmware ON devices(firmware);
CREATE INDEX devices_sensor ON devices(sensor_id);

-- Facts are keyed by a hash of (attribute, value, source): values may be long, and a unique
-- index over long text fails in PostgreSQL.
CREATE TABLE device_facts (
    id INTEGER PRIMARY KEY,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    fact_key TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    confidence BIGINT NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    selected BIGINT NOT NULL CHECK (selected IN (0, 1)),
    evidence TEXT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    UNIQUE (device_id, fact_key)
);

CREATE TABLE device_history (
    id INTEGER PRIMARY KEY,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    at BIGINT NOT NULL,
    sensor_id BIGINT REFERENCES sensors(id) ON DELETE SET NULL
);
CREATE INDEX device_history_device ON device_history(device_id, at);

-- Absent ports and protocols are stored as -1 and '' so that the unique key (NULLs are
-- distinct in unique constraints) really is unique.
CREATE TABLE connections (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    zone_id BIGINT NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    a_device TEXT,
    b_device TEXT,
    a_ip TEXT NOT NULL,
    b_ip TEXT NOT NULL,
    transport TEXT NOT NULL,
    port BIGINT NOT NULL,
    protocol TEXT NOT NULL,
    packets BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    flows BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    UNIQUE (zone_id, a_ip, b_ip, transport, port, protocol)
);
CREATE INDEX connections_site ON connections(site_id, last_seen);
CREATE INDEX connections_a ON connections(zone_id, a_device);
CREATE INDEX connections_b ON connections(zone_id, b_device);

-- Events aggregate per zone on (source, destination, protocol, operation, detail); `event_key`
-- is the hash of those (details can be long). Endpoints are IP addresses, or MAC addresses for
-- layer-2 protocols.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    zone_id BIGINT NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    event_key TEXT NOT NULL,
    src_device TEXT,
    dst_device TEXT,
    src_addr TEXT NOT NULL,
    dst_addr TEXT NOT NULL,
    protocol TEXT NOT NULL,
    category TEXT NOT NULL,
    operation TEXT NOT NULL,
    detail TEXT NOT NULL,
    content_hash TEXT,
    count BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    UNIQUE (zone_id, event_key)
);
CREATE INDEX events_site ON events(site_id, last_seen);
CREATE INDEX events_src ON events(zone_id, src_device);
CREATE INDEX events_dst ON events(zone_id, dst_device);

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    zone_id BIGINT REFERENCES zones(id) ON DELETE CASCADE,
    engine TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    devices TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    count BIGINT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX alerts_site ON alerts(site_id, last_seen);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE device_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE device_group_members (
    group_id BIGINT NOT NULL REFERENCES device_groups(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id)
);
CREATE INDEX device_group_members_device ON device_group_members(device_id);

-- The audit log outlives its users: the user's id and name are copied, not referenced.
-- Triggers make it append-only.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id BIGINT,
    user_name TEXT,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Batches committed, per sensor: a resend of the same id is answered "duplicate".
CREATE TABLE ingested_batches (
    sensor_id BIGINT NOT NULL REFERENCES sensors(id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (sensor_id, batch_id)
);
