//! What exposure management needs to know about every device of a view (issue 9), read with a
//! handful of set-based queries — never one per device — so that 100,000 devices stay fast:
//! the devices with their site and zone, group names, vulnerabilities in force, public peers,
//! the sources of changes made to them, and which of their services never carried data.
//!
//! The store reports evidence and leaves judgement to the posture crate: whether a write source
//! is on the IT side, or a device OT or IoT, is decided there from the types, Purdue levels and
//! protocols returned here.
//!
//! Definitions:
//! - **authorization**: a device of a site that never learned is `Unknown`; one first seen
//!   before the site's learning ended, or whose address one of the site's baseline entries
//!   names (learned, or "learned" from an alert by a user — what sensors accept too), is
//!   `Authorized`; any other is `Unauthorized`.
//! - **public peer**: the other end of a connection of the device whose address is an internet
//!   address ([`ironward_model::address::is_internet`]: the same rule analyze and the sensor's
//!   anomaly engine use).
//! - **write source**: the device at the other end of an event of category write,
//!   program_download, mode_change, firmware_update, configuration_change or control_command
//!   whose destination is the device (same zone: events name devices per zone).
//! - **unused service**: a TCP or UDP service of the device for which connections were seen
//!   and none of them identified an application protocol, averaged more than 6 packets per
//!   flow (3 each way: a handshake and its close) or more than 80 bytes per packet (frames
//!   carrying no payload). Services without any connection are not called unused: there is no
//!   evidence either way.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ironward_model::address::is_internet;
use ironward_model::{Service, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Sql;
use crate::{DeviceRef, GroupId, Result, Scope, SiteId, Store, StoreError};

/// Most devices [`Store::posture_assets`] returns (the first by row id).
pub const MAX_POSTURE_ASSETS: i64 = 500_000;

/// Most public peers listed per device.
pub const MAX_PUBLIC_PEERS: usize = 100;

/// Most write sources listed per device.
pub const MAX_WRITE_SOURCES: usize = 100;

/// Largest average frames per flow of a connection that carried no data (3 each way).
const UNUSED_PACKETS_PER_FLOW: i64 = 6;

/// Largest average frame of a connection that carried no data, in bytes.
const UNUSED_BYTES_PER_PACKET: i64 = 80;

/// Event categories that change what a device does.
const CHANGE_CATEGORIES: &str = "('write', 'program_download', 'mode_change', \
     'firmware_update', 'configuration_change', 'control_command')";

/// Whether a device was authorized (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetAuthorization {
    /// Learned during its site's learning window, or named by a baseline entry.
    Authorized,
    /// First seen after its site's learning ended and named by no baseline entry.
    Unauthorized,
    /// Its site never learned.
    Unknown,
}

/// A vulnerability in force on a device (matched and not excluded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetVulnerabilityRow {
    /// The CVE id.
    pub cve: String,
    /// CVSS v3 base score, if the record has one.
    pub cvss: Option<f32>,
    /// Known exploited (CISA KEV).
    pub kev: bool,
}

/// A device that changed what this one does (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteSource {
    /// The source's device key (`mac:…`, `ip:…`).
    pub id: String,
    /// Its device type.
    pub device_type: Option<String>,
    /// Its Purdue level.
    pub purdue_level: Option<u8>,
    /// The protocols it speaks (client and server), sorted.
    pub protocols: Vec<String>,
    /// The event categories it used towards this device, sorted.
    pub categories: Vec<String>,
}

/// Everything posture needs about one device of a view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostureAssetRow {
    /// The device's row (links to its page).
    pub device: DeviceRef,
    /// The device key (`mac:…`, `ip:…`), as the API names devices.
    pub id: String,
    /// Its site.
    pub site_id: SiteId,
    /// The site's name.
    pub site: String,
    /// The zone's name.
    pub zone: String,
    /// First IP address.
    pub ip: Option<IpAddr>,
    /// First hostname.
    pub name: Option<String>,
    /// Names of the device groups it belongs to, sorted.
    pub groups: Vec<String>,
    /// Device type.
    pub device_type: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware.
    pub firmware: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Purdue level.
    pub purdue_level: Option<u8>,
    /// Protocols it speaks (client and server), sorted.
    pub protocols: Vec<String>,
    /// Finding ids (`telnet_without_authentication`, ...), sorted.
    pub findings: Vec<String>,
    /// Services it offers.
    pub services: Vec<Service>,
    /// Those of its services that never carried data.
    pub unused_services: Vec<Service>,
    /// Vulnerabilities in force, CVE order.
    pub vulnerabilities: Vec<AssetVulnerabilityRow>,
    /// Whether it was authorized.
    pub authorization: AssetAuthorization,
    /// Public addresses it exchanged traffic with, sorted, at most [`MAX_PUBLIC_PEERS`].
    pub public_peers: Vec<IpAddr>,
    /// Devices that changed what it does, by id, at most [`MAX_WRITE_SOURCES`].
    pub write_sources: Vec<WriteSource>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
}

/// The parts of a device's stored JSON that have no column. Parsing the whole document here
/// costs no more than having the database extract them (at 100,000 devices: the same CPU time
/// with SQLite's `json_extract`, slower with PostgreSQL's `jsonb`), and keeps one query.
#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    purdue_level: Option<u8>,
    #[serde(default)]
    services: Vec<Service>,
    #[serde(default)]
    findings: Vec<String>,
}

fn parse_document(what: &str, text: &str) -> Result<Document> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("device {what}: {e}")))
}

/// The `WHERE` of the devices of a view (`d` is `devices`).
fn view(scope: &Scope, site: Option<SiteId>, group: Option<GroupId>) -> Sql {
    let mut sql = Sql::new(" WHERE 1 = 1");
    scope.filter(&mut sql, "d.site_id");
    if let Some(site) = site {
        sql.push(" AND d.site_id = ").bind(site.0);
    }
    if let Some(group) = group {
        sql.push(" AND d.id IN (SELECT device_id FROM device_group_members WHERE group_id = ")
            .bind(group.0)
            .push(")");
    }
    sql
}

/// `,modbus,s7comm,` → `["modbus", "s7comm"]`.
fn protocol_list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An address as the baseline and the devices' columns write it, in one form.
fn canonical(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

impl Store {
    /// Every device of a view — `scope`, one site or all of it, one device group or any —
    /// with what posture needs (see [`PostureAssetRow`] and the module docs), in row-id order;
    /// at most [`MAX_POSTURE_ASSETS`]. A site outside `scope` is NotFound.
    pub async fn posture_assets(
        &self,
        scope: &Scope,
        site: Option<SiteId>,
        group: Option<GroupId>,
    ) -> Result<Vec<PostureAssetRow>> {
        if let Some(site) = site {
            if !scope.allows(site) {
                return Err(StoreError::NotFound);
            }
        }
        let filter = view(scope, site, group);
        let mut assets = self.asset_devices(&filter).await?;
        let index: HashMap<i64, usize> = assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.device.0, i))
            .collect();
        self.asset_groups(&filter, &index, &mut assets).await?;
        self.asset_vulnerabilities(&filter, &index, &mut assets)
            .await?;
        self.asset_public_peers(&filter, &index, &mut assets)
            .await?;
        self.asset_write_sources(&filter, &index, &mut assets)
            .await?;
        self.asset_unused_services(&filter, &index, &mut assets)
            .await?;
        Ok(assets)
    }

    /// Whether any sensor of `scope` (of `site` when given) has ever reported: without one,
    /// posture says "more data is required". A site outside `scope` is NotFound.
    pub async fn sensors_reported(&self, scope: &Scope, site: Option<SiteId>) -> Result<bool> {
        if let Some(site) = site {
            if !scope.allows(site) {
                return Err(StoreError::NotFound);
            }
        }
        let mut sql = Sql::new(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM sensors WHERE last_seen IS NOT NULL",
        );
        scope.filter(&mut sql, "site_id");
        if let Some(site) = site {
            sql.push(" AND site_id = ").bind(site.0);
        }
        sql.push(" LIMIT 1) reported");
        let n: i64 = sql.query().fetch_one(&self.pool).await?.try_get("n")?;
        Ok(n > 0)
    }

    /// The devices of the view with their columns, JSON extract and authorization.
    async fn asset_devices(&self, filter: &Sql) -> Result<Vec<PostureAssetRow>> {
        let mut sql = Sql::new(
            "SELECT d.id, d.device_key, d.site_id, s.name AS site_name, z.name AS zone_name, \
             d.ips, d.hostname, d.device_type, d.vendor, d.model, d.firmware, d.os, \
             d.protocols, d.first_seen, d.last_seen, d.data, s.learning_until \
             FROM devices d JOIN sites s ON s.id = d.site_id JOIN zones z ON z.id = d.zone_id",
        );
        sql.append(filter);
        // By row id: SQLite then reads in table order instead of sorting every row with its
        // JSON (seconds at 100,000 devices).
        sql.push(" ORDER BY d.id LIMIT ").bind(MAX_POSTURE_ASSETS);
        let rows = sql.query().fetch_all(&self.pool).await?;
        let known = self.baseline_addresses(filter).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let key: String = r.try_get("device_key")?;
            let site_id: i64 = r.try_get("site_id")?;
            let doc = parse_document(&key, &r.try_get::<String, _>("data")?)?;
            let ips: String = r.try_get("ips")?;
            let first_seen = Timestamp(r.try_get("first_seen")?);
            let learning_until: Option<i64> = r.try_get("learning_until")?;
            let authorization = match learning_until {
                None => AssetAuthorization::Unknown,
                Some(until) if first_seen.as_nanos() < until => AssetAuthorization::Authorized,
                Some(_) => {
                    let named = ips
                        .split(' ')
                        .filter_map(canonical)
                        .any(|ip| known.contains(&(site_id, ip)));
                    if named {
                        AssetAuthorization::Authorized
                    } else {
                        AssetAuthorization::Unauthorized
                    }
                }
            };
            let protocols: String = r.try_get("protocols")?;
            out.push(PostureAssetRow {
                device: DeviceRef(id),
                id: key,
                site_id: SiteId(site_id),
                site: r.try_get("site_name")?,
                zone: r.try_get("zone_name")?,
                ip: ips.split(' ').find_map(|t| t.parse().ok()),
                name: r.try_get("hostname")?,
                groups: Vec::new(),
                device_type: r.try_get("device_type")?,
                vendor: r.try_get("vendor")?,
                model: r.try_get("model")?,
                firmware: r.try_get("firmware")?,
                os: r.try_get("os")?,
                purdue_level: doc.purdue_level,
                protocols: protocol_list(&protocols),
                findings: doc.findings,
                services: doc.services,
                unused_services: Vec::new(),
                vulnerabilities: Vec::new(),
                authorization,
                public_peers: Vec::new(),
                write_sources: Vec::new(),
                first_seen,
                last_seen: Timestamp(r.try_get("last_seen")?),
            });
        }
        Ok(out)
    }

    /// (site, address) of every address the baseline entries of the view's sites name.
    async fn baseline_addresses(&self, filter: &Sql) -> Result<HashSet<(i64, IpAddr)>> {
        let mut sql = Sql::new(
            "SELECT b.site_id, b.src, b.dst FROM baseline_entries b WHERE b.site_id IN \
             (SELECT DISTINCT d.site_id FROM devices d",
        );
        sql.append(filter).push(")");
        let rows = sql.query().fetch_all(&self.pool).await?;
        let mut known = HashSet::with_capacity(rows.len());
        for r in &rows {
            let site: i64 = r.try_get("site_id")?;
            for column in ["src", "dst"] {
                let text: String = r.try_get(column)?;
                if let Some(ip) = canonical(&text) {
                    known.insert((site, ip));
                }
            }
        }
        Ok(known)
    }

    async fn asset_groups(
        &self,
        filter: &Sql,
        index: &HashMap<i64, usize>,
        assets: &mut [PostureAssetRow],
    ) -> Result<()> {
        let mut sql = Sql::new(
            "SELECT m.device_id, g.name FROM device_group_members m \
             JOIN device_groups g ON g.id = m.group_id JOIN devices d ON d.id = m.device_id",
        );
        sql.append(filter).push(" ORDER BY g.name");
        for r in sql.query().fetch_all(&self.pool).await? {
            if let Some(&i) = index.get(&r.try_get::<i64, _>("device_id")?) {
                assets[i].groups.push(r.try_get("name")?);
            }
        }
        Ok(())
    }

    async fn asset_vulnerabilities(
        &self,
        filter: &Sql,
        index: &HashMap<i64, usize>,
        assets: &mut [PostureAssetRow],
    ) -> Result<()> {
        let mut sql = Sql::new(
            "SELECT v.device_id, v.cve, v.cvss10, v.kev FROM device_vulnerabilities v \
             JOIN devices d ON d.id = v.device_id",
        );
        sql.append(filter);
        sql.push(" AND NOT ")
            .push(crate::vulnerabilities::EXCLUDED_SQL)
            .push(" ORDER BY v.cve");
        for r in sql.query().fetch_all(&self.pool).await? {
            if let Some(&i) = index.get(&r.try_get::<i64, _>("device_id")?) {
                let cvss10: i64 = r.try_get("cvss10")?;
                assets[i].vulnerabilities.push(AssetVulnerabilityRow {
                    cve: r.try_get("cve")?,
                    // Stored as ten times the score (at most 100): exact in an f32.
                    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
                    cvss: (cvss10 >= 0).then(|| cvss10 as f32 / 10.0),
                    kev: r.try_get::<i64, _>("kev")? != 0,
                });
            }
        }
        Ok(())
    }

    async fn asset_public_peers(
        &self,
        filter: &Sql,
        index: &HashMap<i64, usize>,
        assets: &mut [PostureAssetRow],
    ) -> Result<()> {
        // Addresses that are plainly private are dropped in SQL: most traffic of a plant is.
        let private = |column: &str| {
            format!(
                " AND {column} NOT LIKE '10.%' AND {column} NOT LIKE '192.168.%' \
                 AND {column} NOT LIKE '127.%' AND {column} NOT LIKE '169.254.%' \
                 AND {column} NOT LIKE 'fe80:%' AND {column} NOT LIKE 'ff0%'"
            )
        };
        let mut sql = Sql::new(
            "SELECT d.id AS device_id, c.b_ip AS peer FROM connections c \
             JOIN devices d ON d.zone_id = c.zone_id AND d.device_key = c.a_device",
        );
        sql.append(filter).push(&private("c.b_ip"));
        sql.push(
            " UNION SELECT d.id AS device_id, c.a_ip AS peer FROM connections c \
             JOIN devices d ON d.zone_id = c.zone_id AND d.device_key = c.b_device",
        );
        sql.append(filter).push(&private("c.a_ip"));
        for r in sql.query().fetch_all(&self.pool).await? {
            let Some(&i) = index.get(&r.try_get::<i64, _>("device_id")?) else {
                continue;
            };
            let peer: String = r.try_get("peer")?;
            let Some(ip) = canonical(&peer).filter(|ip| is_internet(*ip)) else {
                continue;
            };
            let peers = &mut assets[i].public_peers;
            if peers.len() < MAX_PUBLIC_PEERS && !peers.contains(&ip) {
                peers.push(ip);
            }
        }
        for a in assets.iter_mut() {
            a.public_peers.sort_unstable();
        }
        Ok(())
    }

    async fn asset_write_sources(
        &self,
        filter: &Sql,
        index: &HashMap<i64, usize>,
        assets: &mut [PostureAssetRow],
    ) -> Result<()> {
        let mut sql = Sql::new(
            "SELECT DISTINCT d.id AS device_id, e.category, src.id AS src_id, \
             src.device_key AS src_key, src.device_type AS src_type, \
             src.protocols AS src_protocols FROM events e \
             JOIN devices d ON d.zone_id = e.zone_id AND d.device_key = e.dst_device \
             JOIN devices src ON src.zone_id = e.zone_id AND src.device_key = e.src_device \
             AND src.id <> d.id",
        );
        sql.append(filter)
            .push(" AND e.category IN ")
            .push(CHANGE_CATEGORIES)
            .push(" ORDER BY src_key, category");
        let rows = sql.query().fetch_all(&self.pool).await?;
        // Sources outside the view (another group) have no parsed JSON yet: read their levels.
        let mut levels: HashMap<i64, Option<u8>> = assets
            .iter()
            .map(|a| (a.device.0, a.purdue_level))
            .collect();
        let mut missing: Vec<i64> = Vec::new();
        for r in &rows {
            let src: i64 = r.try_get("src_id")?;
            if !levels.contains_key(&src) && !missing.contains(&src) {
                missing.push(src);
            }
        }
        for chunk in missing.chunks(500) {
            let mut q = Sql::new("SELECT id, data FROM devices WHERE ");
            q.in_list("id", chunk);
            for r in q.query().fetch_all(&self.pool).await? {
                let id: i64 = r.try_get("id")?;
                let doc = parse_document(&format!("row {id}"), &r.try_get::<String, _>("data")?)?;
                levels.insert(id, doc.purdue_level);
            }
        }
        for r in &rows {
            let Some(&i) = index.get(&r.try_get::<i64, _>("device_id")?) else {
                continue;
            };
            let src_id: i64 = r.try_get("src_id")?;
            let key: String = r.try_get("src_key")?;
            let category: String = r.try_get("category")?;
            let sources = &mut assets[i].write_sources;
            if let Some(s) = sources.iter_mut().find(|s| s.id == key) {
                if !s.categories.contains(&category) {
                    s.categories.push(category);
                }
                continue;
            }
            if sources.len() >= MAX_WRITE_SOURCES {
                continue;
            }
            let protocols: String = r.try_get("src_protocols")?;
            sources.push(WriteSource {
                id: key,
                device_type: r.try_get("src_type")?,
                purdue_level: levels.get(&src_id).copied().flatten(),
                protocols: protocol_list(&protocols),
                categories: vec![category],
            });
        }
        Ok(())
    }

    async fn asset_unused_services(
        &self,
        filter: &Sql,
        index: &HashMap<i64, usize>,
        assets: &mut [PostureAssetRow],
    ) -> Result<()> {
        // Ratios compared by division: a counter times a constant could overflow (2^62 max).
        let mut sql = Sql::new(&format!(
            "SELECT d.id AS device_id, c.transport, c.port, SUM(CASE WHEN c.protocol <> '' \
             OR (c.packets + {p}) / {UNUSED_PACKETS_PER_FLOW} > c.flows \
             OR (c.bytes + {b}) / {UNUSED_BYTES_PER_PACKET} > c.packets \
             THEN 1 ELSE 0 END) AS carried FROM connections c \
             JOIN devices d ON d.zone_id = c.zone_id AND d.device_key = c.b_device",
            p = UNUSED_PACKETS_PER_FLOW - 1,
            b = UNUSED_BYTES_PER_PACKET - 1,
        ));
        sql.append(filter).push(
            " AND c.transport IN ('tcp', 'udp') AND c.port >= 0 \
                   GROUP BY d.id, c.transport, c.port",
        );
        for r in sql.query().fetch_all(&self.pool).await? {
            let Some(&i) = index.get(&r.try_get::<i64, _>("device_id")?) else {
                continue;
            };
            if r.try_get::<i64, _>("carried")? > 0 {
                continue;
            }
            let transport: String = r.try_get("transport")?;
            let Ok(port) = u16::try_from(r.try_get::<i64, _>("port")?) else {
                continue;
            };
            let asset = &mut assets[i];
            let on_port = |s: &&Service| s.port == port && s.transport == transport;
            // A protocol the sensor named on the port is data, whatever the counters say.
            if asset
                .services
                .iter()
                .filter(on_port)
                .any(|s| s.protocol.is_some())
            {
                continue;
            }
            let unused: Vec<Service> = asset.services.iter().filter(on_port).cloned().collect();
            asset.unused_services.extend(unused);
        }
        for a in assets.iter_mut() {
            a.unused_services
                .sort_by(|x, y| (&x.transport, x.port).cmp(&(&y.transport, y.port)));
            a.unused_services.dedup();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lists() {
        assert_eq!(protocol_list(",modbus,s7comm,"), ["modbus", "s7comm"]);
        assert!(protocol_list(",").is_empty());
    }
}
