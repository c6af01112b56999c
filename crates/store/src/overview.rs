//! Counts and lookups for the console's overview pages: the inventory summary of the
//! dashboard, alert counts by severity, the values the inventory's filters offer, device keys
//! resolved to rows (so a page of connections or events links its peers with one query), and
//! the edges of the device map between a bounded set of devices.
//!
//! Every query takes a [`Scope`] and is bounded: group lists and lookups never return more
//! than [`MAX_GROUPS`] / [`MAX_PAGE`](crate::MAX_PAGE) rows, whatever the inventory holds.

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::Row;

use crate::db::Sql;
use crate::devices::{device_filters, device_row, DeviceQuery, DeviceRow, DeviceSort, ROW_COLUMNS};
use crate::ids::page_size;
use crate::{DeviceRef, Page, Result, Scope, SiteId, Store, ZoneId};

/// Most rows of any grouped count (types, vendors, severities); the rest is summed as "other".
pub const MAX_GROUPS: i64 = 200;

/// Most device keys resolved at once, and most device ids the map's edges are asked for.
pub const MAX_LOOKUP: usize = 1_000;

/// Devices whose protocols make the protocol filter's choices.
pub(crate) const FACET_SAMPLE: i64 = 5_000;

/// Zones looked up per query by [`Store::device_refs`].
const ZONES_PER_QUERY: usize = 50;

/// Most edges the map query returns.
pub const MAX_MAP_EDGES: i64 = 5_000;

/// How the inventory of a scope breaks down (the dashboard).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InventorySummary {
    /// Devices in the scope.
    pub total: i64,
    /// Devices first seen at or after the "day" time given.
    pub new_day: i64,
    /// Devices first seen at or after the "week" time given.
    pub new_week: i64,
    /// Devices per type (`None`: unknown), most first, at most [`MAX_GROUPS`].
    pub by_type: Vec<(Option<String>, i64)>,
    /// Devices per site, by site name (sites without devices included).
    pub by_site: Vec<(SiteId, String, i64)>,
}

/// The values the inventory's filters offer, within a scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceFacets {
    /// Device types present, sorted, at most [`MAX_GROUPS`].
    pub types: Vec<String>,
    /// Vendors present, sorted, at most [`MAX_GROUPS`].
    pub vendors: Vec<String>,
    /// Protocols spoken by recently seen devices, sorted, at most [`MAX_GROUPS`].
    pub protocols: Vec<String>,
}

/// One edge of the device map: devices `a` and `b` talked over `protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapEdge {
    /// The client device.
    pub a: DeviceRef,
    /// The server device.
    pub b: DeviceRef,
    /// Application protocol (`None`: unknown).
    pub protocol: Option<String>,
    /// Packets over all connections between the two on that protocol.
    pub packets: i64,
}

impl Store {
    /// The dashboard's counts over the devices in `scope`; `day` and `week` are the times from
    /// which a device counts as new.
    pub async fn inventory_summary(
        &self,
        scope: &Scope,
        day: Timestamp,
        week: Timestamp,
    ) -> Result<InventorySummary> {
        let mut sql = Sql::new("SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN first_seen >= ");
        sql.bind(day.as_nanos())
            .push(" THEN 1 ELSE 0 END), 0) AS day, COALESCE(SUM(CASE WHEN first_seen >= ")
            .bind(week.as_nanos())
            .push(" THEN 1 ELSE 0 END), 0) AS week FROM devices WHERE 1 = 1");
        scope.filter(&mut sql, "site_id");
        let row = sql.query().fetch_one(&self.pool).await?;
        let mut summary = InventorySummary {
            total: row.try_get("n")?,
            new_day: row.try_get("day")?,
            new_week: row.try_get("week")?,
            ..InventorySummary::default()
        };

        let mut sql = Sql::new("SELECT device_type, COUNT(*) AS n FROM devices WHERE 1 = 1");
        scope.filter(&mut sql, "site_id");
        sql.push(" GROUP BY device_type ORDER BY n DESC, device_type LIMIT ")
            .bind(MAX_GROUPS);
        for r in sql.query().fetch_all(&self.pool).await? {
            summary
                .by_type
                .push((r.try_get("device_type")?, r.try_get("n")?));
        }

        let mut sql = Sql::new(
            "SELECT s.id, s.name, COUNT(d.id) AS n FROM sites s \
             LEFT JOIN devices d ON d.site_id = s.id WHERE 1 = 1",
        );
        scope.filter(&mut sql, "s.id");
        sql.push(" GROUP BY s.id, s.name ORDER BY s.name LIMIT ")
            .bind(MAX_GROUPS);
        for r in sql.query().fetch_all(&self.pool).await? {
            summary.by_site.push((
                SiteId(r.try_get("id")?),
                r.try_get("name")?,
                r.try_get("n")?,
            ));
        }
        Ok(summary)
    }

    /// The same page as [`Store::list_devices`], read in two steps so that it stays fast on
    /// large inventories: the page's ids are chosen by sorting only the sort key and the id
    /// (an index scan for the times, names and addresses, which are never NULL), then only
    /// those rows are read whole. Sorting whole rows (their JSON included) of 100,000 devices
    /// to show 50 took most of a second on SQLite; this takes tens of milliseconds.
    pub async fn inventory_page(&self, q: &DeviceQuery) -> Result<Page<DeviceRow>> {
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM devices d WHERE 1 = 1");
        device_filters(&mut count, q);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let dir = if q.descending { "DESC" } else { "ASC" };
        let column = q.sort.column();
        let nullable = matches!(
            q.sort,
            DeviceSort::Vendor | DeviceSort::Type | DeviceSort::Model | DeviceSort::Firmware
        );
        // NULLs last in both directions and on both backends, as list_devices orders them.
        let order = if nullable {
            format!("CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} {dir}, d.id {dir}")
        } else {
            format!("{column} {dir}, d.id {dir}")
        };
        let mut sql = Sql::new(&format!(
            "SELECT {ROW_COLUMNS} WHERE d.id IN (SELECT d.id FROM devices d"
        ));
        if q.sort == DeviceSort::Site {
            sql.push(" JOIN sites s ON s.id = d.site_id");
        }
        sql.push(" WHERE 1 = 1");
        device_filters(&mut sql, q);
        sql.push(&format!(" ORDER BY {order} LIMIT "))
            .bind(page_size(q.limit))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        sql.push(&format!(") ORDER BY {order}"));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(Page {
            items: rows.iter().map(device_row).collect::<Result<_>>()?,
            total,
        })
    }

    /// Alerts in `scope` per severity (open or not), most first.
    pub async fn alert_counts_by_severity(&self, scope: &Scope) -> Result<Vec<(String, i64)>> {
        let mut sql = Sql::new("SELECT severity, COUNT(*) AS n FROM alerts WHERE 1 = 1");
        scope.filter(&mut sql, "site_id");
        sql.push(" GROUP BY severity ORDER BY n DESC, severity LIMIT ")
            .bind(MAX_GROUPS);
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("severity")?, r.try_get("n")?)))
            .collect()
    }

    /// The values the inventory's filters offer. For [`Scope::All`], every type and vendor
    /// (distinct values read from their indexes); within a site scope, and for protocols
    /// always, those of the 5,000 most recently seen devices (a bounded read: the indexes do
    /// not know the site, and reading every row of a large inventory per page is too slow).
    pub async fn device_facets(&self, scope: &Scope) -> Result<DeviceFacets> {
        let mut types = std::collections::BTreeSet::new();
        let mut vendors = std::collections::BTreeSet::new();
        let mut protocols = std::collections::BTreeSet::new();
        if *scope == Scope::All {
            for (column, out) in [("device_type", &mut types), ("vendor", &mut vendors)] {
                // A loose index scan: one index seek per distinct value ("the smallest value
                // after the previous one"), where DISTINCT reads every row's entry. PostgreSQL
                // has no skip scan: its DISTINCT over 100,000 devices took ~100 ms per column.
                let mut sql = Sql::new(&format!(
                    "WITH RECURSIVE found(v) AS (SELECT MIN({column}) FROM devices \
                     WHERE {column} > '' UNION ALL SELECT (SELECT MIN({column}) FROM devices \
                     WHERE {column} > found.v) FROM found WHERE found.v IS NOT NULL) \
                     SELECT v FROM found WHERE v IS NOT NULL LIMIT "
                ));
                sql.bind(MAX_GROUPS);
                for r in sql.query().fetch_all(&self.pool).await? {
                    out.insert(r.try_get::<String, _>("v")?);
                }
            }
        }
        let mut sql = Sql::new("SELECT device_type, vendor, protocols FROM devices WHERE 1 = 1");
        scope.filter(&mut sql, "site_id");
        sql.push(" ORDER BY last_seen DESC LIMIT ")
            .bind(FACET_SAMPLE);
        for r in sql.query().fetch_all(&self.pool).await? {
            if *scope != Scope::All {
                types.extend(r.try_get::<Option<String>, _>("device_type")?);
                vendors.extend(r.try_get::<Option<String>, _>("vendor")?);
            }
            let list: String = r.try_get("protocols")?;
            protocols.extend(list.split(',').filter(|p| !p.is_empty()).map(str::to_owned));
        }
        let bounded = |set: std::collections::BTreeSet<String>| -> Vec<String> {
            set.into_iter()
                .filter(|v| !v.is_empty())
                .take(usize::try_from(MAX_GROUPS).unwrap_or(200))
                .collect()
        };
        Ok(DeviceFacets {
            types: bounded(types),
            vendors: bounded(vendors),
            protocols: bounded(protocols),
        })
    }

    /// The rows of devices known by (zone, device key), for those in `scope`; keys without a
    /// row are left out. At most [`MAX_LOOKUP`] keys are looked up (the rest are ignored).
    pub async fn device_refs(
        &self,
        scope: &Scope,
        keys: &[(ZoneId, String)],
    ) -> Result<Vec<((ZoneId, String), DeviceRef)>> {
        let keys = &keys[..keys.len().min(MAX_LOOKUP)];
        // Keys are grouped by zone (one `IN` list each) and zones are queried a bounded
        // number at a time: SQLite refuses expressions nested deeper than 1,000, which a
        // long chain of ORs reaches.
        let mut by_zone: std::collections::BTreeMap<ZoneId, Vec<&str>> =
            std::collections::BTreeMap::new();
        for (zone, key) in keys {
            by_zone.entry(*zone).or_default().push(key.as_str());
        }
        let zones: Vec<(ZoneId, Vec<&str>)> = by_zone.into_iter().collect();
        let mut found = Vec::new();
        for chunk in zones.chunks(ZONES_PER_QUERY) {
            let mut sql = Sql::new("SELECT id, zone_id, device_key FROM devices d WHERE (");
            for (i, (zone, keys)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("(zone_id = ")
                    .bind(zone.0)
                    .push(" AND device_key IN (");
                for (j, key) in keys.iter().enumerate() {
                    if j > 0 {
                        sql.push(", ");
                    }
                    sql.bind(*key);
                }
                sql.push("))");
            }
            sql.push(")");
            scope.filter(&mut sql, "d.site_id");
            for r in sql.query().fetch_all(&self.pool).await? {
                found.push((
                    (ZoneId(r.try_get("zone_id")?), r.try_get("device_key")?),
                    DeviceRef(r.try_get("id")?),
                ));
            }
        }
        Ok(found)
    }

    /// The map's edges: connections between two of `devices` (both in `scope`), summed per
    /// pair and protocol, busiest first, at most `limit` (bounded by [`MAX_MAP_EDGES`]). Only
    /// the first [`MAX_LOOKUP`] devices are considered.
    pub async fn map_edges(
        &self,
        scope: &Scope,
        devices: &[DeviceRef],
        protocol: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MapEdge>> {
        let ids: Vec<i64> = devices.iter().take(MAX_LOOKUP).map(|d| d.0).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // CROSS JOIN fixes SQLite's join order: from the (at most MAX_LOOKUP) devices, through
        // the client-side index of connections, to the server device. Without statistics
        // SQLite otherwise scans every connection of the site and took seconds at 100,000;
        // PostgreSQL plans CROSS JOIN with WHERE like any other join.
        let mut sql = Sql::new(
            "SELECT da.id AS a, db.id AS b, c.protocol, CAST(SUM(c.packets) AS BIGINT) AS packets \
             FROM devices da CROSS JOIN connections c CROSS JOIN devices db WHERE ",
        );
        sql.in_list("da.id", &ids);
        sql.push(
            " AND c.zone_id = da.zone_id AND c.a_device = da.device_key \
             AND db.zone_id = c.zone_id AND db.device_key = c.b_device AND ",
        );
        sql.in_list("db.id", &ids);
        scope.filter(&mut sql, "c.site_id");
        if let Some(p) = protocol {
            sql.push(" AND c.protocol = ").bind(p);
        }
        sql.push(
            " GROUP BY da.id, db.id, c.protocol ORDER BY packets DESC, a, b, c.protocol LIMIT ",
        )
        .bind(limit.clamp(1, MAX_MAP_EDGES));
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let protocol: String = r.try_get("protocol")?;
                Ok(MapEdge {
                    a: DeviceRef(r.try_get("a")?),
                    b: DeviceRef(r.try_get("b")?),
                    protocol: (!protocol.is_empty()).then_some(protocol),
                    packets: r.try_get("packets")?,
                })
            })
            .collect()
    }
}
