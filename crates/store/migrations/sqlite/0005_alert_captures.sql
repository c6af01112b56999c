-- The packets around the first occurrence of each alert, as the sensor captured them (a classic
-- pcap file of at most 256 KiB), for download (issue 7). One capture per stored alert: the first
-- one delivered is kept, later ones for the same alert are ignored. Deleted with the alert.

CREATE TABLE alert_captures (
    alert_id BIGINT PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    sensor_id BIGINT,
    size BIGINT NOT NULL,
    pcap BLOB NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX alert_captures_site ON alert_captures(site_id);
