-- Threat-intelligence packages and device vulnerabilities (issue 8).
--
-- `ti_packages`: every package an administrator uploaded, verified before it was stored, with its
-- signed bytes (sensors are sent those very bytes and verify them again). The package in force is
-- the one with the highest sequence (sequences are build times: a newer package has a higher one).
CREATE TABLE ti_packages (
    id BIGSERIAL PRIMARY KEY,
    file_name TEXT NOT NULL,
    sequence BIGINT NOT NULL UNIQUE,
    built_at TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    key_id TEXT NOT NULL,
    vulnerabilities BIGINT NOT NULL,
    affected_products BIGINT NOT NULL,
    known_exploited BIGINT NOT NULL,
    advisories BIGINT NOT NULL,
    techniques BIGINT NOT NULL,
    iocs BIGINT NOT NULL,
    size BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);

-- One row per device and CVE the package in force matches. `site_id` is the device's, copied so
-- that scope and site filters need no join; `cvss10` is the CVSS v3 base score times ten (an
-- integer sorts and compares the same on both backends; -1: the record has none, which sorts last); `kev` 0/1;
-- `advisories` and `fixed_in` are comma-separated. Rows of a device are replaced together when
-- it is matched again; `first_matched` survives that.
CREATE TABLE device_vulnerabilities (
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    cve TEXT NOT NULL,
    cvss10 BIGINT NOT NULL,
    kev BIGINT NOT NULL CHECK (kev IN (0, 1)),
    advisories TEXT NOT NULL,
    product TEXT NOT NULL,
    versions TEXT NOT NULL,
    fixed_in TEXT NOT NULL,
    confidence TEXT NOT NULL,
    reason TEXT NOT NULL,
    first_matched BIGINT NOT NULL,
    last_matched BIGINT NOT NULL,
    package_id BIGINT REFERENCES ti_packages(id) ON DELETE SET NULL,
    PRIMARY KEY (device_id, cve)
);
-- By severity (the default order: KEV first, then CVSS) within a site, and by CVE.
CREATE INDEX device_vulnerabilities_severity ON device_vulnerabilities(site_id, kev, cvss10);
CREATE INDEX device_vulnerabilities_rank ON device_vulnerabilities(kev, cvss10);
CREATE INDEX device_vulnerabilities_cve ON device_vulnerabilities(cve, site_id);

-- An analyst's decision that a CVE does not apply (to one device, or to every device when
-- `device_id` is NULL). Kept apart from the matches so that it outlives re-matching.
CREATE TABLE vulnerability_exclusions (
    id BIGSERIAL PRIMARY KEY,
    device_id BIGINT REFERENCES devices(id) ON DELETE CASCADE,
    cve TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX vulnerability_exclusions_cve ON vulnerability_exclusions(cve, device_id);
CREATE INDEX vulnerability_exclusions_device ON vulnerability_exclusions(device_id);

-- Which identity of a device was matched against which package: a device whose vendor, model,
-- product code or firmware changed, or any device after a new package, is matched again.
CREATE TABLE device_match_state (
    device_id BIGINT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    package_id BIGINT NOT NULL,
    identity TEXT NOT NULL,
    matched_at BIGINT NOT NULL
);

-- Devices the package in force cannot resolve to a product it knows, with why (coverage).
CREATE TABLE ti_unmatched (
    device_id BIGINT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    vendor TEXT,
    model TEXT,
    order_number TEXT,
    reason TEXT NOT NULL,
    explanation TEXT NOT NULL
);
CREATE INDEX ti_unmatched_site ON ti_unmatched(site_id, reason);
