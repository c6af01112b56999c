-- Threat-intelligence package distribution (issue 8). `ti_site_packages`: the package every
-- sensor of a site is to run, as an administrator applied it (one per site; a new one replaces
-- it). `ti_sensor_status`: what each sensor last reported of its own package — the sequence and
-- name in force (NULL: none), whether the last package offered was applied (`ok`), refused
-- (`failed`, with the sensor's error) or none was offered yet (`none`), the id of the key it
-- verifies with (NULL: none configured), and when. Whether a sensor's package is up to date is
-- read from the two together: a sensor running another sequence than its site's has an update
-- available.

CREATE TABLE ti_site_packages (
    site_id BIGINT PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    package_id BIGINT NOT NULL REFERENCES ti_packages(id) ON DELETE CASCADE,
    assigned_at BIGINT NOT NULL,
    assigned_by TEXT NOT NULL
);
CREATE INDEX ti_site_packages_package ON ti_site_packages(package_id);

CREATE TABLE ti_sensor_status (
    sensor_id BIGINT PRIMARY KEY REFERENCES sensors(id) ON DELETE CASCADE,
    sequence BIGINT,
    package_name TEXT,
    state TEXT NOT NULL CHECK (state IN ('none', 'ok', 'failed')),
    error TEXT,
    key_id TEXT,
    reported_at BIGINT NOT NULL
);
